//! Configuration: built-in defaults, then an optional TOML file, then `SIGNUP__SECTION__KEY`
//! environment variables. Every section refuses unknown keys.
//!
//! The sections the core owns live here; the gateway composes them with each flavour's own
//! section into its `Settings`, and loads the whole with [`load`].

use std::{net::SocketAddr, path::Path, path::PathBuf};

use ipnet::IpNet;
use secrecy::SecretString;
use serde::{de::DeserializeOwned, Deserialize, Serialize, Serializer};

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "SIGNUP";
/// Environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_PATH_VAR: &str = "SIGNUP_CONFIG";

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &["server.trusted_proxies"];

/// Loads `T` from its serde defaults, the optional TOML file, then the environment.
///
/// An unknown key, in the file or the environment, is an error that names it.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, config::ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        builder = builder.add_source(
            config::File::from(path.to_path_buf())
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    let mut env = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",");
    for key in LIST_KEYS {
        env = env.with_list_parse_key(key);
    }
    builder.add_source(env).build()?.try_deserialize()
}

/// The whole configuration: the core's sections, plus `flavours`, whose type the host
/// chooses (the gateway's has one table per flavour; an app embedding one flavour may use
/// that flavour's settings, or [`NoFlavours`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings<F = NoFlavours> {
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub hashing: HashingSettings,
    pub tokens: TokenSettings,
    pub mail: MailSettings,
    pub rate_limit: RateLimitSettings,
    pub webhooks: WebhookSettings,
    pub flavours: F,
}

/// An empty `[flavours]` table.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFlavours {}

impl<F: DeserializeOwned + Default> Settings<F> {
    /// Defaults, then the file (if any), then `SIGNUP__...` variables; then the checks that
    /// span sections.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let settings: Self = load(file)?;
        settings.validate()?;
        Ok(settings)
    }
}

impl<F> Settings<F> {
    /// The checks no single section can make alone.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.webhooks.validate()?;
        if self.profile == Profile::Production {
            let Some(secret) = &self.tokens.secret else {
                anyhow::bail!(
                    "profile = \"production\" needs an explicit token secret: set tokens.secret or SIGNUP__TOKENS__SECRET"
                );
            };
            check_production_secret("tokens.secret", secret)?;
            if let Some(secret) = &self.webhooks.secret {
                check_production_secret("webhooks.secret", secret)?;
            }
        }
        Ok(())
    }
}

impl<F: Serialize> Settings<F> {
    /// The effective configuration as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}

/// Shortest secret the production profile accepts.
pub const MIN_PRODUCTION_SECRET_BYTES: usize = 32;

/// Values that appear in this project's examples and must never sign anything real.
pub const PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me-to-a-long-random-secret",
    "change-me",
    "changeme",
    "secret",
    "...",
];

/// Refuses a secret an attacker could guess: a documented placeholder, or one too short.
pub fn check_production_secret(key: &str, secret: &SecretString) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let value = secret.expose_secret();
    if PLACEHOLDER_SECRETS.contains(&value.trim()) {
        anyhow::bail!("{key} is a documented placeholder: set a long random value (e.g. openssl rand -base64 48)");
    }
    if value.len() < MIN_PRODUCTION_SECRET_BYTES {
        anyhow::bail!(
            "{key} is {} bytes; the production profile needs at least {MIN_PRODUCTION_SECRET_BYTES} (e.g. openssl rand -base64 48)",
            value.len()
        );
    }
    Ok(())
}

/// `development` runs with generated secrets and says so; `production` refuses to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Base of every link and image URL the gateway hands out.
    pub public_url: String,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body a flavour reads.
    pub body_limit_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Actix worker threads; 0 means one per core.
    pub workers: usize,
    /// `pretty` or `json` log lines.
    pub log_format: LogFormat,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
            workers: 0,
            log_format: LogFormat::Pretty,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` (created if missing) or `postgres://user@host/db`.
    /// A password in it is masked wherever the settings are shown.
    #[serde(serialize_with = "mask_url_password")]
    pub url: String,
    pub max_connections: u32,
    pub run_migrations: bool,
    /// How long a request waits for a connection before the store answers `Unavailable`.
    pub acquire_timeout_secs: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("run_migrations", &self.run_migrations)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/signup.db".into(),
            max_connections: 16,
            run_migrations: true,
            acquire_timeout_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashingSettings {
    /// Argon2id memory cost in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Argon2id passes (OWASP: 2).
    pub iterations: u32,
    /// Argon2id lanes (OWASP: 1).
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per core.
    pub workers: usize,
    /// Sign-ups allowed to wait for a worker; past it the answer is `Overloaded` at once.
    pub queue: usize,
    /// Longest a sign-up may expect to wait for a worker (its place in the queue x the
    /// measured hash time / workers); past it the answer is `Overloaded` at once. While real
    /// waits run past it (hash times vary), the expected wait admitted is lowered until about
    /// 1 wait in 100 does. 0 means four hash times.
    pub max_wait_ms: u64,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            workers: 0,
            queue: 64,
            max_wait_ms: 0,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Signing secret for access tokens. Required when `profile = "production"`.
    #[serde(serialize_with = "mask_secret")]
    pub secret: Option<SecretString>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

impl std::fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .finish()
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secret: None,
            access_ttl_secs: 900,
            refresh_ttl_secs: 604_800,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Print each mail, links included, to the log (development).
    #[default]
    Log,
    /// Write one `.eml` file per mail into `mail.dir`.
    File,
    /// Deliver over SMTP (`mail.smtp`).
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub dir: PathBuf,
    pub from: String,
    /// Display name of the sender (empty: the site name).
    pub from_name: String,
    /// Shown in subjects and greetings.
    pub site_name: String,
    /// Attempts before a mail or webhook is marked `dead`.
    pub max_attempts: u32,
    /// First retry delay; each further attempt doubles it (with jitter), up to an hour.
    pub retry_base_ms: u64,
    /// How often an idle outbox worker looks for due mail.
    pub poll_interval_ms: u64,
    /// How long a claimed outbox row stays reserved for the instance that claimed it; an
    /// instance that dies mid-send releases its rows when this runs out.
    pub lease_secs: u64,
    /// How long a dead mail keeps its body (for `gateway outbox retry`) before it is wiped.
    pub dead_retention_days: u64,
    pub smtp: SmtpSettings,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: MailTransport::Log,
            dir: PathBuf::from("data/mail"),
            from: "signup@localhost".into(),
            from_name: String::new(),
            site_name: "signup-gateway".into(),
            max_attempts: 8,
            retry_base_ms: 1000,
            poll_interval_ms: 500,
            lease_secs: 60,
            dead_retention_days: 7,
            smtp: SmtpSettings::default(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    #[serde(serialize_with = "mask_secret")]
    pub password: Option<SecretString>,
    /// Connect and command timeout; a timeout is a temporary failure.
    pub timeout_secs: u64,
    /// A PEM file of one or more CA certificates trusted, besides the built-in roots, for
    /// `tls = "starttls"` and `tls = "tls"` (a private relay's CA). Read at start-up.
    pub extra_root_certs: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("extra_root_certs", &self.extra_root_certs)
            .finish()
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 25,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: None,
            timeout_secs: 30,
            extra_root_certs: None,
        }
    }
}

/// `[webhooks]`: per realm, URLs that receive `account.created` and `account.confirmed`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// HMAC-SHA256 key for `X-Signature`. Required when any endpoint is configured.
    #[serde(serialize_with = "mask_secret")]
    pub secret: Option<SecretString>,
    /// Realm -> URLs (a TOML list, or a comma-separated string from the environment).
    pub endpoints: std::collections::BTreeMap<String, UrlList>,
    /// Per-request timeout; a timeout is a temporary failure.
    pub timeout_secs: u64,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("endpoints", &self.endpoints)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// A list of URLs that also reads from one comma-separated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UrlList(pub Vec<String>);

impl<'de> Deserialize<'de> for UrlList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let urls = match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(String::from)
                .collect(),
            Raw::Many(v) => v,
        };
        for url in &urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(serde::de::Error::custom(format!(
                    "webhook URL must start with http:// or https:// (got {url:?})"
                )));
            }
        }
        Ok(Self(urls))
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            secret: None,
            endpoints: std::collections::BTreeMap::new(),
            timeout_secs: 10,
        }
    }
}

impl WebhookSettings {
    /// Checks that signing is possible when anything is to be sent.
    pub fn validate(&self) -> anyhow::Result<()> {
        let any = self.endpoints.values().any(|urls| !urls.0.is_empty());
        if any && self.secret.is_none() {
            anyhow::bail!("webhooks.endpoints are configured but webhooks.secret is not: set SIGNUP__WEBHOOKS__SECRET");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    #[default]
    Starttls,
    Tls,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Sign-up requests one client address may make per minute; 0 turns the limit off.
    pub per_ip_per_minute: u32,
    /// Requests allowed at once before the per-minute pace applies.
    pub burst: u32,
    /// Where the allowances live: `memory` (this process) or `redis` (shared by instances).
    pub store: RateLimitStore,
    /// For `store = "redis"`. A password in it is masked wherever the settings are shown.
    #[serde(serialize_with = "mask_url_password")]
    pub redis_url: String,
    /// How long a check waits for Redis before letting the request through.
    pub redis_timeout_ms: u64,
    /// Prefix of this deployment's keys (to share one Redis between deployments).
    pub redis_key_prefix: String,
}

impl std::fmt::Debug for RateLimitSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitSettings")
            .field("per_ip_per_minute", &self.per_ip_per_minute)
            .field("burst", &self.burst)
            .field("store", &self.store)
            .field("redis_url", &redact_url(&self.redis_url))
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .field("redis_key_prefix", &self.redis_key_prefix)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitStore {
    #[default]
    Memory,
    Redis,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 60,
            burst: 20,
            store: RateLimitStore::Memory,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_timeout_ms: 200,
            redis_key_prefix: "signup:rate:".into(),
        }
    }
}

/// A URL fit for a log line: the password, if any, replaced.
pub fn redact_url(url: &str) -> String {
    match url.parse::<url::Url>() {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn mask_url_password<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

fn mask_secret<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_some("<redacted>"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default)]
        server: ServerSettings,
        #[serde(default)]
        #[allow(dead_code)]
        tokens: TokenSettings,
    }

    #[test]
    fn secrets_are_masked_in_debug_and_serialisation() {
        let tokens = TokenSettings {
            secret: Some(SecretString::from("hunter2-hunter2")),
            ..TokenSettings::default()
        };
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let json = serde_json::to_string(&tokens).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("<redacted>"), "{json}");
    }

    #[test]
    fn a_database_password_is_masked_in_debug_and_serialisation() {
        let database = DatabaseSettings {
            url: "postgres://app:pg-s3cret@db/signup".into(),
            ..DatabaseSettings::default()
        };
        assert!(!format!("{database:?}").contains("pg-s3cret"));
        let json = serde_json::to_string(&database).unwrap();
        assert!(json.contains("postgres://app:redacted@db/signup"), "{json}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:9000\"\nlisen = \"x\"\n",
        )
        .unwrap();
        let err = load::<Sample>(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn the_production_profile_refuses_short_and_placeholder_secrets() {
        let mut settings = Settings::<NoFlavours> {
            profile: Profile::Production,
            ..Settings::default()
        };
        let error = |s: &Settings| s.validate().unwrap_err().to_string();
        assert!(error(&settings).contains("needs an explicit token secret"));
        settings.tokens.secret = Some("change-me-to-a-long-random-secret".to_string().into());
        assert_eq!(
            error(&settings),
            "tokens.secret is a documented placeholder: set a long random value (e.g. openssl rand -base64 48)"
        );
        settings.tokens.secret = Some("x".repeat(31).into());
        assert_eq!(
            error(&settings),
            "tokens.secret is 31 bytes; the production profile needs at least 32 (e.g. openssl rand -base64 48)"
        );
        settings.tokens.secret = Some("x".repeat(32).into());
        assert!(settings.validate().is_ok());
        settings.webhooks.secret = Some("short".to_string().into());
        assert!(error(&settings).starts_with("webhooks.secret is 5 bytes"));
        settings.profile = Profile::Development;
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn the_file_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:9000\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let sample: Sample = load(Some(&path)).unwrap();
        assert_eq!(sample.server.listen.port(), 9000);
        assert_eq!(
            sample.server.trusted_proxies,
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
        assert_eq!(sample.server.body_limit_bytes, 65_536);
    }
}
