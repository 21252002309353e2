//! The Infera flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

mod differential;
mod helpers;
mod routing;
mod signup_user;
mod validation;
mod verify_email;
