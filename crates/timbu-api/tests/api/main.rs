//! The Timbu flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

mod helpers;
mod login;
mod logout;
mod media;
mod refresh;
mod routing;
mod sign_up;
mod sign_up_multipart;
mod users_me;
