//! The gateway end to end: operational routes, mounts, mail delivery, several instances,
//! and the binary under SIGTERM and SIGKILL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod crash;
mod helpers;
mod instances;
mod log_audit;
mod mounts;
mod ops;
mod process;
mod zato;
