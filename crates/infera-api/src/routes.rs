//! One module per endpoint.

pub mod signup_user;
pub mod verify_email;
