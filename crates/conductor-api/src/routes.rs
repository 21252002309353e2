//! One module per endpoint.

pub mod sign_up;
