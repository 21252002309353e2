//! The HTTP kit every signup-gateway flavour is built with, so that no flavour re-writes (or
//! forgets) a piece of the seam:
//!
//! - [`MountSettings`]: where a flavour is served (`enabled`, `mount`, `host`, `realm`,
//!   `public_url`), flattened into each flavour's settings with that flavour's defaults;
//! - [`Mount`]: what a flavour hands its host (prefix, host guard, OpenAPI document, routes),
//!   and [`arrange`], which orders mounts longest prefix first and refuses shadowing ones;
//! - [`MountContext`]: the per-mount state a handler starts from, with [`MountContext::admit`]
//!   (rate limit, then saturation shedding, then the bounded body: one call, in that order);
//! - [`Routes`]: resources registered with the flavour's own 404 and 405 answers;
//! - [`app`]: the request layers every host puts around the mounts (request id, tracing,
//!   HTTP metrics), used by the gateway and by the test harness alike.
//!
//! ```
//! use signup_http::{MountDefaults, MountSettings};
//!
//! struct Example;
//! impl MountDefaults for Example {
//!     const FLAVOUR: &'static str = "example";
//!     const MOUNT: &'static str = "/example";
//! }
//!
//! let settings = MountSettings::<Example>::default();
//! assert_eq!((settings.mount.as_str(), settings.realm.as_str()), ("/example", "example"));
//! assert_eq!(settings.prefix(), "/example");
//! ```

mod admission;
mod app;
mod mount;
mod request;
mod routes;
mod span;

pub use admission::{Admitted, Checks, Refusal};
pub use app::app;
pub use mount::{
    arrange, enabled, Mount, MountContext, MountDefaults, MountSettings, PendingMount,
};
pub use request::{
    client_ip, has_json_content_type, media_type, retry_after, set_header, NO_REFERRER, NO_STORE,
};
pub use routes::{Fallback, Routes};
pub use span::RedactedRootSpan;
