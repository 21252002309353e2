//! Where a flavour is served and what it hands its host.

use std::{future::Future, marker::PhantomData, pin::Pin, sync::Arc};

use actix_web::web;
use serde::{Deserialize, Serialize};
use signup_core::{Realm, Services};

/// A flavour's defaults for its [`MountSettings`].
pub trait MountDefaults {
    /// The flavour's name: its default realm, its metrics label, `/openapi/<name>.json`.
    const FLAVOUR: &'static str;
    /// Its default path prefix (`/` for the root).
    const MOUNT: &'static str;
}

/// `enabled`, `mount`, `host`, `realm` and `public_url` of one flavour's table, flattened
/// into the flavour's settings (`#[serde(flatten)]`) so the operator's keys stay flat:
/// `[flavours.conductor] mount = "/c"`. Missing keys take the flavour's defaults.
#[derive(Serialize, Deserialize)]
#[serde(default, bound = "")]
pub struct MountSettings<D: MountDefaults> {
    pub enabled: bool,
    /// Path prefix of the mount (`/` for the root).
    pub mount: String,
    /// Serve only requests for this `Host`.
    pub host: Option<String>,
    /// Realm the accounts are created in.
    pub realm: String,
    /// Base of the links this mount hands out, when it differs from `server.public_url`
    /// (a mount behind its own host name).
    pub public_url: Option<String>,
    #[serde(skip)]
    flavour: PhantomData<fn() -> D>,
}

impl<D: MountDefaults> Default for MountSettings<D> {
    fn default() -> Self {
        Self {
            enabled: true,
            mount: D::MOUNT.into(),
            host: None,
            realm: D::FLAVOUR.into(),
            public_url: None,
            flavour: PhantomData,
        }
    }
}

impl<D: MountDefaults> Clone for MountSettings<D> {
    fn clone(&self) -> Self {
        Self {
            enabled: self.enabled,
            mount: self.mount.clone(),
            host: self.host.clone(),
            realm: self.realm.clone(),
            public_url: self.public_url.clone(),
            flavour: PhantomData,
        }
    }
}

impl<D: MountDefaults> std::fmt::Debug for MountSettings<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountSettings")
            .field("flavour", &D::FLAVOUR)
            .field("enabled", &self.enabled)
            .field("mount", &self.mount)
            .field("host", &self.host)
            .field("realm", &self.realm)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl<D: MountDefaults> MountSettings<D> {
    /// The mount without its trailing slash (`""` at the root).
    pub fn prefix(&self) -> &str {
        self.mount.trim_end_matches('/')
    }

    fn check(&self) -> anyhow::Result<()> {
        if !self.mount.starts_with('/') {
            anyhow::bail!(
                "flavours.{}.mount must start with '/' (got {:?})",
                D::FLAVOUR,
                self.mount
            );
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!(
                    "flavours.{}.public_url must start with http:// or https:// (got {url:?})",
                    D::FLAVOUR
                );
            }
        }
        Ok(())
    }
}

/// What every handler of one mount starts from.
#[derive(Debug, Clone)]
pub struct MountContext {
    pub services: Services,
    pub flavour: &'static str,
    pub realm: Realm,
    prefix: String,
    host: Option<String>,
    /// Links' base: the mount's `public_url`, or the server's, without a trailing slash.
    public_base: String,
}

impl MountContext {
    /// Checks the mount's settings and parses its realm.
    pub fn new<D: MountDefaults>(
        services: Services,
        settings: &MountSettings<D>,
    ) -> anyhow::Result<Self> {
        settings.check()?;
        let realm = Realm::parse(&settings.realm)
            .map_err(|e| anyhow::anyhow!("flavours.{}.realm: {e}", D::FLAVOUR))?;
        let public_base = settings
            .public_url
            .as_deref()
            .unwrap_or(&services.public_url)
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            flavour: D::FLAVOUR,
            realm,
            prefix: settings.prefix().to_string(),
            host: settings.host.clone(),
            public_base,
            services,
        })
    }

    /// The mount without its trailing slash (`""` at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// An absolute URL of a path inside this mount, on the mount's public base.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}{path_and_query}", self.public_base, self.prefix)
    }

    /// Counts one sign-up outcome of this flavour.
    pub fn record_sign_up(&self, outcome: &str) {
        self.services.metrics.record_sign_up(self.flavour, outcome);
    }
}

type Configure = dyn Fn(&mut web::ServiceConfig) + Send + Sync;

/// An enabled flavour as its host mounts it.
#[derive(Clone)]
pub struct Mount {
    flavour: &'static str,
    prefix: String,
    host: Option<String>,
    openapi: utoipa::openapi::OpenApi,
    configure: Arc<Configure>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("flavour", &self.flavour)
            .field("prefix", &self.prefix)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Mount {
    /// A flavour's mount: `configure(cfg, state)` adds its routes inside the prefix (once per
    /// HTTP worker); the OpenAPI document gets the prefix as its server.
    pub fn new<S: Clone + Send + Sync + 'static>(
        context: &MountContext,
        mut openapi: utoipa::openapi::OpenApi,
        state: S,
        configure: fn(&mut web::ServiceConfig, S),
    ) -> Self {
        let server = if context.prefix.is_empty() {
            "/"
        } else {
            context.prefix.as_str()
        };
        openapi.servers = Some(vec![utoipa::openapi::Server::new(server)]);
        Self {
            flavour: context.flavour,
            prefix: context.prefix.clone(),
            host: context.host.clone(),
            openapi,
            configure: Arc::new(move |cfg| configure(cfg, state.clone())),
        }
    }

    pub fn flavour(&self) -> &'static str {
        self.flavour
    }

    /// The path prefix without its trailing slash (`""` at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn openapi(&self) -> &utoipa::openapi::OpenApi {
        &self.openapi
    }

    /// Where the gateway serves the OpenAPI document.
    pub fn openapi_path(&self) -> String {
        format!("/openapi/{}.json", self.flavour)
    }

    /// `(method, path inside the mount)` of every operation, from the OpenAPI document.
    pub fn routes(&self) -> Vec<(&'static str, String)> {
        let mut routes = Vec::new();
        for (path, item) in &self.openapi.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("HEAD", &item.head),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if operation.is_some() {
                    routes.push((method, path.clone()));
                }
            }
        }
        routes
    }

    /// Adds the mount's routes to a config (an embedding app may call this inside its own
    /// scope); [`Mount::scope`] is the usual way.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        (self.configure)(cfg);
    }

    /// The mount as one scope at its prefix, behind its `Host` guard if it has one.
    pub fn scope(&self) -> actix_web::Scope {
        let configure = Arc::clone(&self.configure);
        let scope = web::scope(&self.prefix).configure(move |cfg| configure(cfg));
        match &self.host {
            Some(host) => scope.guard(actix_web::guard::Host(host.clone())),
            None => scope,
        }
    }
}

/// A flavour's mount to build, or `None` when its settings disable it.
pub type PendingMount<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Mount>> + 'a>>;

/// `build` when the flavour is enabled: the one line a host writes per flavour.
pub fn enabled<'a, D: MountDefaults>(
    settings: &MountSettings<D>,
    build: impl Future<Output = anyhow::Result<Mount>> + 'a,
) -> Option<PendingMount<'a>> {
    settings
        .enabled
        .then(|| Box::pin(build) as PendingMount<'a>)
}

/// Orders mounts longest prefix first (so a root mount is tried last), after refusing two
/// that would answer the same requests: the same prefix on overlapping hosts.
pub fn arrange(mut mounts: Vec<Mount>) -> anyhow::Result<Vec<Mount>> {
    for (i, a) in mounts.iter().enumerate() {
        for b in &mounts[i + 1..] {
            // A host-guarded mount goes before an unguarded one at the same prefix, which
            // then serves every other host; two unguarded (or equally guarded) ones clash.
            let hosts_overlap = match (&a.host, &b.host) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            };
            if a.prefix == b.prefix && hosts_overlap {
                let shown = |m: &Mount| {
                    let at = if m.prefix.is_empty() { "/" } else { &m.prefix };
                    match &m.host {
                        Some(host) => format!("{} at {at} on host {host}", m.flavour),
                        None => format!("{} at {at} on every host", m.flavour),
                    }
                };
                anyhow::bail!(
                    "the mounts of {} and {} would shadow each other: give one another mount or a distinct host",
                    shown(a),
                    shown(b)
                );
            }
        }
    }
    // Stable: equal prefixes on distinct hosts keep the list's order, guarded ones first.
    mounts.sort_by_key(|m| (std::cmp::Reverse(m.prefix.len()), m.host.is_none()));
    Ok(mounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(flavour: &'static str, prefix: &str, host: Option<&str>) -> Mount {
        Mount {
            flavour,
            prefix: prefix.into(),
            host: host.map(String::from),
            openapi: utoipa::openapi::OpenApi::default(),
            configure: Arc::new(|_| {}),
        }
    }

    fn order(mounts: &[Mount]) -> Vec<(&'static str, Option<&str>)> {
        mounts.iter().map(|m| (m.flavour, m.host())).collect()
    }

    #[test]
    fn mounts_are_ordered_longest_prefix_first_and_guarded_before_unguarded() {
        let arranged = arrange(vec![
            mount("zato", "", None),
            mount("conductor", "/conductor", None),
            mount("infera", "", Some("api.infera.example")),
            mount("cloudreve", "/cloudreve", None),
        ])
        .unwrap();
        assert_eq!(
            order(&arranged),
            vec![
                ("conductor", None),
                ("cloudreve", None),
                ("infera", Some("api.infera.example")),
                ("zato", None),
            ]
        );
    }

    #[test]
    fn two_mounts_that_would_shadow_each_other_are_refused_naming_both() {
        let error = arrange(vec![
            mount("conductor", "/auth", None),
            mount("timbu", "/auth", None),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "the mounts of conductor at /auth on every host and timbu at /auth on every host \
             would shadow each other: give one another mount or a distinct host"
        );
        let error = arrange(vec![
            mount("infera", "", Some("API.example")),
            mount("zato", "", Some("api.example")),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("infera at / on host API.example and zato at / on host api.example"),
            "{error}"
        );
        assert!(arrange(vec![
            mount("infera", "", Some("a.example")),
            mount("zato", "", Some("b.example")),
        ])
        .is_ok());
    }

    #[test]
    fn routes_are_read_from_the_openapi_document() {
        let mut doc = utoipa::openapi::OpenApi::default();
        let post = utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Post,
            utoipa::openapi::path::Operation::new(),
        );
        doc.paths.paths.insert("/auth/signup".into(), post);
        let mut m = mount("conductor", "/conductor", None);
        m.openapi = doc;
        assert_eq!(m.routes(), vec![("POST", "/auth/signup".to_string())]);
        assert_eq!(m.openapi_path(), "/openapi/conductor.json");
    }
}
