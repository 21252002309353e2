//! One module per endpoint.

pub mod login;
pub mod logout;
pub mod media;
pub mod refresh_access_token;
pub mod sign_up;
pub mod users_me;
