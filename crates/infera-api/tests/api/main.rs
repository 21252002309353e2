//! The Infera flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod differential;
mod helpers;
mod routing;
mod signup_user;
mod validation;
mod verify_email;
