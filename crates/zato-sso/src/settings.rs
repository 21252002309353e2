//! `[flavours.zato]`: the mount's keys plus sso.conf's sections that sign-up reads, under
//! their sso.conf names, with the template's defaults.

use serde::{Deserialize, Serialize};
use signup_core::config::UrlList;
use signup_http::MountSettings;

use crate::Zato;

/// `[flavours.zato]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(flatten)]
    pub mount: MountSettings<Zato>,
    /// `[flavours.zato.signup]`.
    pub signup: SignupSettings,
    /// `[flavours.zato.password]`.
    pub password: PasswordSettings,
    /// `[flavours.zato.apps]`.
    pub apps: AppsSettings,
    /// `[flavours.zato.user_validation]`.
    pub user_validation: UserValidationSettings,
}

/// sso.conf `[signup]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignupSettings {
    /// Show `E001001`/`E001003`/`E001004` (else `E005001`).
    pub inform_if_user_invalid: bool,
    /// Show `E001002` (else `E005001`).
    pub inform_if_user_exists: bool,
    /// Show `E002001`/`E002003`/`E002004`/`E002005` (else `E005001`).
    pub inform_if_email_invalid: bool,
    /// Show `E002002` (else `E005001`).
    pub inform_if_email_exists: bool,
    pub is_email_required: bool,
    /// New users start `before_decision` (else `approved`).
    pub is_approval_needed: bool,
    pub max_length_username: usize,
    pub max_length_email: usize,
    /// Lifetime of a confirm token.
    pub confirm_token_expiry_secs: u64,
    /// URLs that receive the signed `account.created` webhook of each new user.
    pub callbacks: UrlList,
}

impl Default for SignupSettings {
    fn default() -> Self {
        Self {
            inform_if_user_invalid: false,
            inform_if_user_exists: false,
            inform_if_email_invalid: false,
            inform_if_email_exists: false,
            is_email_required: false,
            is_approval_needed: true,
            max_length_username: 128,
            max_length_email: 128,
            confirm_token_expiry_secs: 172_800,
            callbacks: UrlList::default(),
        }
    }
}

/// sso.conf `[password]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    pub min_length: usize,
    pub max_length: usize,
    /// Lowest zxcvbn score (0 to 4) accepted; 0 turns the check off.
    pub min_complexity: u8,
    /// Show `E003001`/`E003002`/`E003003`/`E003008` (else `E005001`).
    pub inform_if_invalid: bool,
    /// A password containing one of these (case-insensitively) is refused.
    pub reject_list: List,
}

/// The sso.conf template's `password.reject_list`.
pub const DEFAULT_PASSWORD_REJECT_LIST: [&str; 24] = [
    "111111",
    "123123",
    "123321",
    "123456",
    "123qwe",
    "1q2w3e",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "222222",
    "333333",
    "444444",
    "555555",
    "654321",
    "666666",
    "777777",
    "888888",
    "999999",
    "987654321",
    "google",
    "letmein",
    "mynoob",
    "password",
    "qwerty",
    "zxcvbnm",
];

/// The sso.conf template's `reject_username` and `reject_email`.
pub const DEFAULT_REJECTED_KEYWORDS: [&str; 5] = ["zato", "admin", "root", "system", "sso"];

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            min_complexity: 0,
            inform_if_invalid: true,
            reject_list: List::of(&DEFAULT_PASSWORD_REJECT_LIST),
        }
    }
}

/// sso.conf `[apps]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppsSettings {
    /// Every application `current_app` may name.
    pub all: List,
    /// The applications `app_list` may name.
    pub signup_allowed: List,
    /// Show `E004001` (else `E005001`).
    pub inform_if_app_invalid: bool,
}

impl Default for AppsSettings {
    fn default() -> Self {
        Self {
            all: List::of(&["CRM"]),
            signup_allowed: List::of(&["CRM"]),
            inform_if_app_invalid: true,
        }
    }
}

/// sso.conf `[user_validation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserValidationSettings {
    /// A user name containing one of these (case-insensitively) is refused.
    pub reject_username: List,
    /// An address containing one of these (case-insensitively) is refused.
    pub reject_email: List,
}

impl Default for UserValidationSettings {
    fn default() -> Self {
        Self {
            reject_username: List::of(&DEFAULT_REJECTED_KEYWORDS),
            reject_email: List::of(&DEFAULT_REJECTED_KEYWORDS),
        }
    }
}

/// A list of names: a TOML list, or one comma-separated string from the environment (where
/// a lone `123456` arrives as a number).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct List(pub Vec<String>);

impl List {
    fn of(items: &[&str]) -> Self {
        Self(items.iter().map(|s| (*s).to_string()).collect())
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        fn split(s: &str) -> List {
            List(
                s.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(String::from)
                    .collect(),
            )
        }

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = List;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of strings or a comma-separated string")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<List, E> {
                Ok(split(s))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<List, E> {
                Ok(List(vec![n.to_string()]))
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<List, E> {
                Ok(List(vec![n.to_string()]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(List(items))
            }
        }

        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_sso_conf_templates() {
        let settings = Settings::default();
        assert_eq!(settings.password.reject_list.0.len(), 24);
        assert_eq!(settings.password.min_length, 8);
        assert_eq!(settings.password.max_length, 256);
        assert_eq!(settings.password.min_complexity, 0);
        assert!(settings.password.inform_if_invalid);
        assert!(!settings.signup.inform_if_user_invalid);
        assert!(!settings.signup.inform_if_user_exists);
        assert!(!settings.signup.inform_if_email_invalid);
        assert!(!settings.signup.inform_if_email_exists);
        assert!(!settings.signup.is_email_required);
        assert!(settings.signup.is_approval_needed);
        assert_eq!(settings.signup.confirm_token_expiry_secs, 172_800);
        assert_eq!(settings.apps.all.0, ["CRM"]);
        assert_eq!(settings.apps.signup_allowed.0, ["CRM"]);
        assert!(settings.apps.inform_if_app_invalid);
        assert_eq!(
            settings.user_validation.reject_email.0,
            ["zato", "admin", "root", "system", "sso"]
        );
        assert_eq!(settings.mount.mount, "/");
        assert_eq!(settings.mount.realm, "zato");
    }

    #[test]
    fn lists_read_from_toml_lists_and_comma_separated_strings() {
        let settings: Settings = toml::from_str(
            r#"
            [apps]
            all = "CRM, ERP"
            signup_allowed = ["CRM"]
            [password]
            reject_list = 123456
            [signup]
            callbacks = "https://a.example/h, https://b.example/h"
            "#,
        )
        .unwrap();
        assert_eq!(settings.apps.all.0, ["CRM", "ERP"]);
        assert_eq!(settings.password.reject_list.0, ["123456"]);
        assert_eq!(settings.signup.callbacks.0.len(), 2);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<Settings>("[signup]\ninform_if_user_exist = true\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("inform_if_user_exist"), "{error}");
    }
}
