//! The gateway's whole configuration: the core's sections plus one table per flavour.

use serde::{Deserialize, Serialize};
use signup_core::Services;
use signup_http::{enabled, Mount};

/// `profile`, `[server]`, `[database]`, ... and `[flavours.<name>]`.
pub type Settings = signup_core::config::Settings<Flavours>;

/// `[flavours.<name>]`, one table per flavour.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Flavours {
    pub cloudreve: cloudreve_api::Settings,
    pub conductor: conductor_api::Settings,
    pub infera: infera_api::Settings,
    pub timbu: timbu_api::Settings,
    pub zato: zato_sso::Settings,
}

impl Flavours {
    /// Every enabled flavour, built and arranged for mounting (longest prefix first; two
    /// mounts that would shadow each other are an error naming both).
    ///
    /// This is the one list of flavours: adding one is one line here and one field above.
    pub async fn mounts(&self, services: &Services) -> anyhow::Result<Vec<Mount>> {
        let pending = [
            enabled(
                &self.cloudreve.mount,
                cloudreve_api::mount(services, &self.cloudreve),
            ),
            enabled(
                &self.conductor.mount,
                conductor_api::mount(services, &self.conductor),
            ),
            enabled(
                &self.infera.mount,
                infera_api::mount(services, &self.infera),
            ),
            enabled(&self.timbu.mount, timbu_api::mount(services, &self.timbu)),
            enabled(&self.zato.mount, zato_sso::mount(services, &self.zato)),
        ];
        let mut mounts = Vec::new();
        for mount in pending.into_iter().flatten() {
            mounts.push(mount.await?);
        }
        signup_http::arrange(mounts)
    }
}
