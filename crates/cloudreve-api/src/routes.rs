//! One module per endpoint.

pub mod activate;
pub mod captcha;
pub mod sign_up;
pub mod site_config;
