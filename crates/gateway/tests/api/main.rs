//! The gateway end to end: operational routes, mounts, mail delivery, several instances,
//! and the binary under SIGTERM and SIGKILL.

mod crash;
mod helpers;
mod instances;
mod ops;
mod process;
mod zato;
