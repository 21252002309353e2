//! The Zato SSO flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod callbacks;
mod confirm;
mod helpers;
mod logs;
mod routing;
mod signup;
mod signup_checks;
