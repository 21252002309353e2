//! The gateway's whole configuration: the core's sections plus one section per flavour.

use std::path::Path;

use serde::{Deserialize, Serialize};
use signup_core::config::{
    self, DatabaseSettings, HashingSettings, MailSettings, Profile, RateLimitSettings,
    ServerSettings, TokenSettings, WebhookSettings,
};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub hashing: HashingSettings,
    pub tokens: TokenSettings,
    pub mail: MailSettings,
    pub rate_limit: RateLimitSettings,
    pub webhooks: WebhookSettings,
    pub flavours: Flavours,
}

/// `[flavours.<name>]`, one table per flavour.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Flavours {
    pub conductor: conductor_api::Settings,
    pub infera: infera_api::Settings,
}

impl Settings {
    /// Defaults, then the file (if any), then `SIGNUP__...` variables; then the checks that
    /// span sections.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let settings: Self = config::load(file)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.webhooks.validate()?;
        if self.profile == Profile::Production && self.tokens.secret.is_none() {
            anyhow::bail!(
                "profile = \"production\" needs an explicit token secret: set tokens.secret or SIGNUP__TOKENS__SECRET"
            );
        }
        for (name, mount) in [
            ("conductor", &self.flavours.conductor.mount),
            ("infera", &self.flavours.infera.mount),
        ] {
            if !mount.starts_with('/') {
                anyhow::bail!("flavours.{name}.mount must start with '/' (got {mount:?})");
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}
