//! E-mail addresses, parsed once at the edge.
//!
//! The rules and the reason sentences follow the `email-validator` Python package (what
//! pydantic's `EmailStr` uses), without DNS: flavours with their own wording map
//! [`EmailError`] to it, flavours that mimic pydantic print [`EmailError::reason`] as is.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Longest address accepted at all, before anything else is looked at.
pub const MAX_INPUT_CHARS: usize = 2048;
/// RFC 5321 path limit less the angle brackets.
pub const MAX_ADDRESS_CHARS: usize = 254;
/// RFC 1035 domain name limit.
pub const MAX_DOMAIN_CHARS: usize = 253;
/// RFC 1035 label limit.
pub const MAX_LABEL_CHARS: usize = 63;

/// Domains reserved by RFC 6761 and friends: they never receive mail.
const SPECIAL_USE_DOMAINS: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];

/// A syntactically valid e-mail address, normalised: surrounding white space removed, the
/// local part in Unicode NFC, the domain lowercased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    normalized: String,
    key: String,
}

/// Why a string is not an e-mail address. [`EmailError::reason`] gives email-validator's sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.reason())]
pub enum EmailError {
    InputTooLong,
    NoAtSign,
    NothingBeforeAt,
    NothingAfterAt,
    LocalInvalidCharacters(String),
    StartsWithPeriod,
    PeriodBeforeAt,
    ConsecutivePeriods,
    PeriodAfterAt,
    EndsWithPeriod,
    HyphenAfterAt,
    EndsWithHyphen,
    DomainInvalidCharacters(String),
    LabelTooLong(usize),
    NoPeriodInDomain,
    InvalidTopLevelDomain,
    SpecialUseDomain,
    TooLong(usize),
    DomainTooLong(usize),
}

impl EmailError {
    /// The sentence email-validator gives for this problem.
    pub fn reason(&self) -> String {
        match self {
            Self::InputTooLong => format!("Length must not exceed {MAX_INPUT_CHARS} characters"),
            Self::NoAtSign => "An email address must have an @-sign.".into(),
            Self::NothingBeforeAt => "There must be something before the @-sign.".into(),
            Self::NothingAfterAt => "There must be something after the @-sign.".into(),
            Self::LocalInvalidCharacters(chars) => {
                format!("The email address contains invalid characters before the @-sign: {chars}.")
            }
            Self::StartsWithPeriod => "An email address cannot start with a period.".into(),
            Self::PeriodBeforeAt => {
                "An email address cannot have a period immediately before the @-sign.".into()
            }
            Self::ConsecutivePeriods => "An email address cannot have two periods in a row.".into(),
            Self::PeriodAfterAt => {
                "An email address cannot have a period immediately after the @-sign.".into()
            }
            Self::EndsWithPeriod => "An email address cannot end with a period.".into(),
            Self::HyphenAfterAt => {
                "An email address cannot have a hyphen immediately after the @-sign.".into()
            }
            Self::EndsWithHyphen => "An email address cannot end with a hyphen.".into(),
            Self::DomainInvalidCharacters(chars) => {
                format!("The part after the @-sign contains invalid characters: {chars}.")
            }
            Self::LabelTooLong(n) => format!(
                "After the @-sign, periods cannot be separated by so many characters ({n} character{} too many).",
                if *n == 1 { "" } else { "s" }
            ),
            Self::NoPeriodInDomain => {
                "The part after the @-sign is not valid. It should have a period.".into()
            }
            Self::InvalidTopLevelDomain => {
                "The part after the @-sign is not valid. It is not within a valid top-level domain."
                    .into()
            }
            Self::SpecialUseDomain => "The part after the @-sign is a special-use or reserved name that cannot be used with email.".into(),
            Self::TooLong(n) => format!(
                "The email address is too long ({n} character{} too many).",
                if *n == 1 { "" } else { "s" }
            ),
            Self::DomainTooLong(n) => format!(
                "The email address is too long after the @-sign ({n} character{} too many).",
                if *n == 1 { "" } else { "s" }
            ),
        }
    }
}

impl EmailAddress {
    /// Parses and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        if raw.chars().count() > MAX_INPUT_CHARS {
            return Err(EmailError::InputTooLong);
        }
        let trimmed = raw.trim();
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::NoAtSign)?;
        if local.is_empty() {
            return Err(EmailError::NothingBeforeAt);
        }
        if domain.is_empty() {
            return Err(EmailError::NothingAfterAt);
        }
        let local: String = local.nfc().collect();
        check_local_part(&local)?;
        let domain = check_domain(domain)?;

        let normalized = format!("{local}@{domain}");
        let total = normalized.chars().count();
        if total > MAX_ADDRESS_CHARS {
            return Err(EmailError::TooLong(total - MAX_ADDRESS_CHARS));
        }
        let key = format!("{}@{domain}", local.to_lowercase());
        Ok(Self { normalized, key })
    }

    /// The normalised address, as it should be shown and mailed to.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The case-insensitive key two addresses must not share within a realm.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.normalized)
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    let mut bad: Vec<char> = local
        .chars()
        .filter(|&c| {
            c != '.' && !is_atext(c) && (c.is_ascii() || c.is_whitespace() || c.is_control())
        })
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        bad.dedup();
        let shown: Vec<String> = bad.into_iter().map(display_character).collect();
        return Err(EmailError::LocalInvalidCharacters(shown.join(", ")));
    }
    if local.starts_with('.') {
        return Err(EmailError::StartsWithPeriod);
    }
    if local.ends_with('.') {
        return Err(EmailError::PeriodBeforeAt);
    }
    if local.contains("..") {
        return Err(EmailError::ConsecutivePeriods);
    }
    Ok(())
}

/// Checks the domain and returns it lowercased.
fn check_domain(domain: &str) -> Result<String, EmailError> {
    let domain: String = domain.nfc().collect::<String>().to_lowercase();
    let mut bad: Vec<char> = domain
        .chars()
        .filter(|&c| {
            !(c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && (c.is_ascii() || c.is_whitespace() || c.is_control())
        })
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        bad.dedup();
        let shown: Vec<String> = bad.into_iter().map(display_character).collect();
        return Err(EmailError::DomainInvalidCharacters(shown.join(", ")));
    }
    if domain.starts_with('.') {
        return Err(EmailError::PeriodAfterAt);
    }
    if domain.ends_with('.') {
        return Err(EmailError::EndsWithPeriod);
    }
    if domain.contains("..") {
        return Err(EmailError::ConsecutivePeriods);
    }
    if domain.starts_with('-') {
        return Err(EmailError::HyphenAfterAt);
    }
    if domain.ends_with('-') {
        return Err(EmailError::EndsWithHyphen);
    }
    let chars = domain.chars().count();
    if chars > MAX_DOMAIN_CHARS {
        return Err(EmailError::DomainTooLong(chars - MAX_DOMAIN_CHARS));
    }
    for label in domain.split('.') {
        let len = label.chars().count();
        if len > MAX_LABEL_CHARS {
            return Err(EmailError::LabelTooLong(len - MAX_LABEL_CHARS));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::DomainInvalidCharacters("'-'".into()));
        }
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err(EmailError::NoPeriodInDomain);
    };
    if !tld.chars().last().is_some_and(char::is_alphabetic) {
        return Err(EmailError::InvalidTopLevelDomain);
    }
    if SPECIAL_USE_DOMAINS
        .iter()
        .any(|special| domain == *special || domain.ends_with(&format!(".{special}")))
    {
        return Err(EmailError::SpecialUseDomain);
    }
    Ok(domain)
}

/// How email-validator names a character in an error: visible ones quoted, others by name.
fn display_character(c: char) -> String {
    match c {
        ' ' => "SPACE".into(),
        '\\' => "\"\\\"".into(),
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_addresses_are_normalised() {
        let cases = [
            (
                "jsmith@example.com",
                "jsmith@example.com",
                "jsmith@example.com",
            ),
            (
                "  Jane.Doe@Example.COM ",
                "Jane.Doe@example.com",
                "jane.doe@example.com",
            ),
            ("ñoñó@example.com", "ñoñó@example.com", "ñoñó@example.com"),
            (
                "a+tag@sub.example.org",
                "a+tag@sub.example.org",
                "a+tag@sub.example.org",
            ),
        ];
        for (raw, normalized, key) in cases {
            let email = EmailAddress::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(email.as_str(), normalized, "{raw}");
            assert_eq!(email.key(), key, "{raw}");
        }
    }

    #[test]
    fn the_local_part_is_put_in_nfc() {
        let decomposed = "n\u{303}o@example.com";
        assert_eq!(
            EmailAddress::parse(decomposed).unwrap().as_str(),
            "\u{f1}o@example.com"
        );
    }

    #[test]
    fn invalid_addresses_give_email_validator_reasons() {
        let long_label = format!("a@{}.com", "x".repeat(64));
        let long_address = format!("{}@example.com", "a".repeat(250));
        let cases: Vec<(&str, &str)> = vec![
            ("foobar", "An email address must have an @-sign."),
            ("@example.com", "There must be something before the @-sign."),
            ("x@", "There must be something after the @-sign."),
            ("foobar@localhost", "The part after the @-sign is not valid. It should have a period."),
            ("foobar@127.0.0.1", "The part after the @-sign is not valid. It is not within a valid top-level domain."),
            ("f oo@example.com", "The email address contains invalid characters before the @-sign: SPACE."),
            ("a<b>@example.com", "The email address contains invalid characters before the @-sign: '<', '>'."),
            ("a..b@example.com", "An email address cannot have two periods in a row."),
            (".a@example.com", "An email address cannot start with a period."),
            ("a.@example.com", "An email address cannot have a period immediately before the @-sign."),
            ("a@example..com", "An email address cannot have two periods in a row."),
            ("a@.example.com", "An email address cannot have a period immediately after the @-sign."),
            ("a@x.test", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
            ("a@printer.local", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
            ("a@exa_mple.com", "The part after the @-sign contains invalid characters: '_'."),
            (&long_label, "After the @-sign, periods cannot be separated by so many characters (1 character too many)."),
            (&long_address, "The email address is too long (8 characters too many)."),
        ];
        for (raw, reason) in cases {
            let err = EmailAddress::parse(raw).expect_err(raw);
            assert_eq!(err.reason(), reason, "{raw}");
        }
    }

    #[test]
    fn input_over_2048_characters_is_refused_first() {
        let raw = "a".repeat(2049);
        assert_eq!(EmailAddress::parse(&raw), Err(EmailError::InputTooLong));
        assert_eq!(
            EmailError::InputTooLong.reason(),
            "Length must not exceed 2048 characters"
        );
    }

    proptest! {
        #[test]
        fn a_normalised_address_parses_to_itself(
            local in "[a-zA-Z0-9_+-]{1,20}(\\.[a-zA-Z0-9_+-]{1,10}){0,2}",
            domain in "[a-zA-Z0-9]{1,20}\\.(com|org|net|example)",
        ) {
            let first = EmailAddress::parse(&format!("{local}@{domain}")).unwrap();
            let second = EmailAddress::parse(first.as_str()).unwrap();
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(first.key(), first.as_str().to_lowercase());
        }

        #[test]
        fn parsing_never_panics(raw in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&raw);
        }
    }
}
