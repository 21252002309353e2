//! One module per endpoint: the sign-up, and its confirmation (on both paths).

pub mod confirm;
pub mod signup;
