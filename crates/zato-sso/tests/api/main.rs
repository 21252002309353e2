//! The Zato SSO flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

mod callbacks;
mod confirm;
mod helpers;
mod logs;
mod routing;
mod signup;
mod signup_checks;
