//! The Cloudreve flavour end to end over HTTP, on SQLite and (when configured) PostgreSQL.

mod activate;
mod captcha;
mod helpers;
mod instances;
mod routing;
mod sign_up;
mod site_config;
