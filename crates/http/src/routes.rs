//! Resources registered with the flavour's own answers for an unknown path (404) and a
//! wrong method (405, with `Allow`), so a flavour cannot leave Actix's plain-text defaults
//! in its mount.

use actix_web::{dev::HttpServiceFactory, web, HttpRequest, HttpResponse};

/// A flavour's 404 and 405 answers, in its own shape.
#[derive(Debug, Clone, Copy)]
pub struct Fallback {
    pub not_found: fn(&HttpRequest) -> HttpResponse,
    /// Given the methods the resource allows (the `Allow` value).
    pub method_not_allowed: fn(&HttpRequest, &'static str) -> HttpResponse,
}

/// Registers a flavour's resources inside its mount.
pub struct Routes<'a> {
    cfg: &'a mut web::ServiceConfig,
    fallback: Fallback,
}

impl std::fmt::Debug for Routes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").finish_non_exhaustive()
    }
}

impl<'a> Routes<'a> {
    /// Starts a mount's routes; paths no resource matches get `fallback.not_found`.
    pub fn new(cfg: &'a mut web::ServiceConfig, fallback: Fallback) -> Self {
        let not_found = fallback.not_found;
        cfg.default_service(web::to(
            move |req: HttpRequest| async move { not_found(&req) },
        ));
        Self { cfg, fallback }
    }

    /// A resource at `path` answering `allow` (e.g. `"POST"`, `"GET, HEAD"`) through `build`;
    /// any other method gets the flavour's 405.
    pub fn resource(
        self,
        path: &str,
        allow: &'static str,
        build: impl FnOnce(actix_web::Resource) -> actix_web::Resource,
    ) -> Self {
        let method_not_allowed = self.fallback.method_not_allowed;
        self.cfg
            .service(build(web::resource(path)).default_service(web::to(
                move |req: HttpRequest| async move { method_not_allowed(&req, allow) },
            )));
        self
    }

    /// Any other service (a scope, a file server) inside the mount.
    pub fn service(self, service: impl HttpServiceFactory + 'static) -> Self {
        self.cfg.service(service);
        self
    }
}
