//! The gateway end to end: operational routes, mounts, mail delivery, several instances,
//! and the binary under SIGTERM and SIGKILL.

mod crash;
mod helpers;
mod instances;
mod log_audit;
mod mounts;
mod ops;
mod process;
