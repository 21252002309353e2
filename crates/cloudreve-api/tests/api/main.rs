//! The Cloudreve flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

mod helpers;
mod routing;
mod sign_up;
