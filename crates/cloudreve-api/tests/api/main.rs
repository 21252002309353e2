//! The Cloudreve flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod activate;
mod captcha;
mod helpers;
mod instances;
mod routing;
mod sign_up;
mod site_config;
