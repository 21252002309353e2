//! The Timbu flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod helpers;
mod login;
mod logout;
mod media;
mod refresh;
mod routing;
mod sign_up;
mod sign_up_multipart;
mod users_me;
