//! E-mail addresses, parsed once at the edge.
//!
//! The rules, their order and the reason sentences are those of pydantic v2's `EmailStr`:
//! `pydantic.networks.validate_email`, which calls the `email-validator` Python package (2.x)
//! with `check_deliverability=False` and nothing else, so its defaults apply: internationalized
//! local parts allowed, quoted local parts, domain literals and display names refused, the
//! domain checked with IDNA 2008 (as the `idna` package does it) and required to be globally
//! deliverable (a period, a top-level domain ending in a letter, no special-use name).
//!
//! [`EmailAddress::parse_pydantic`] is `validate_email` itself; [`EmailAddress::parse`] is the
//! same without pydantic's `Name <address>` unwrapping, so a display name is an error there.
//! Flavours with their own wording map [`EmailError`] to it, flavours that mimic pydantic print
//! [`EmailError::reason`] as is.
//!
//! Unicode facts (categories, character names, normalization, the UTS 46 mapping and the
//! IDNA 2008 code point classes) come from ICU4X and `unicode_names2`. Python takes some of them
//! from the `unicodedata` module of its own version (Unicode 14 for Python 3.11), so code points
//! assigned in later Unicode versions can be judged differently than a given Python does.

use std::fmt;

// One module per concern, each following one Python source so that a difference from pydantic
// can be traced to it: `pydantic` checks first, `validator` runs email-validator's checks in its
// order over `syntax` and `domain` (through `idna` and `punycode`); `unicode` is what they share.
mod domain;
mod idna;
mod punycode;
mod pydantic;
mod syntax;
mod unicode;
mod validator;

use pydantic::{pydantic_prechecks, pydantic_pretty_address};
use unicode::py_strip;
use validator::validate_email;

/// Longest input accepted at all, in characters, before anything else is looked at (pydantic).
pub const MAX_INPUT_CHARS: usize = 2048;
/// Longest address, in UTF-8 bytes (RFC 5321 path limit less the angle brackets).
pub const MAX_ADDRESS_CHARS: usize = 254;
/// Longest domain in its IDNA ASCII form (RFC 1035).
pub const MAX_DOMAIN_CHARS: usize = 253;
/// Longest label in its IDNA ASCII form (RFC 1035).
pub const MAX_LABEL_CHARS: usize = 63;

/// A syntactically valid e-mail address, normalised as pydantic returns it: surrounding white
/// space and any display name removed, the local part in Unicode NFC (and lowercased for RFC 2142
/// names such as `postmaster`), the domain in its Unicode form after UTS 46 mapping (so lowercased,
/// and `xn--` labels decoded).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    normalized: String,
    key: String,
}

/// Why a string is not an e-mail address. [`EmailError::reason`] gives email-validator's sentence
/// (or pydantic's, for the checks pydantic makes before calling it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.reason())]
pub enum EmailError {
    /// More than [`MAX_INPUT_CHARS`] characters (pydantic).
    InputTooLong,
    /// A carriage return or line feed anywhere in the input (pydantic).
    LineBreak,
    NoAtSign,
    /// No `@` but a U+FF20 FULLWIDTH COMMERCIAT AT.
    FullWidthAtSign,
    /// No `@` but a U+FE6B SMALL COMMERCIAL AT.
    SmallCommercialAt,
    /// Characters after the closing quote of a quoted local part or display name (shown list).
    TextAfterCloseQuote(String),
    /// Characters not allowed in an unquoted display name (shown list).
    DisplayNameInvalidCharacters(String),
    /// Control, format, separator or leading combining characters (shown list).
    UnsafeCharacters(String),
    NoCloseAngleBracket,
    TextAfterAngleBracket,
    NothingBeforeAt,
    NothingAfterAt,
    /// Characters not allowed before the `@` (shown list).
    LocalInvalidCharacters(String),
    /// Characters not allowed in a quoted local part (shown list).
    QuotedLocalInvalidCharacters(String),
    /// email-validator's fallback for a local part it cannot say more about.
    LocalInvalid,
    StartsWithPeriod,
    PeriodBeforeAt,
    ConsecutivePeriods,
    /// The local part became invalid when put in NFC.
    AfterNormalization(Box<EmailError>),
    /// `"quoted"@example.com`: valid, but not allowed.
    QuotedLocalPart,
    /// `a@[192.0.2.1]`: valid, but not allowed.
    DomainLiteral,
    /// A bracketed IPv4-looking literal that Python's `ipaddress` refuses (its message).
    InvalidIpv4Literal(String),
    /// A bracketed `IPv6:` literal that Python's `ipaddress` refuses (its message).
    InvalidIpv6Literal(String),
    UntaggedDomainLiteral,
    /// Characters not allowed in a domain literal (shown list).
    DomainLiteralInvalidCharacters(String),
    UnknownDomainLiteralTag,
    /// Characters not allowed after the `@` (shown list).
    DomainInvalidCharacters(String),
    /// UTS 46 mapping refused a character (the `idna` package's message).
    DomainUts46(String),
    /// Characters not allowed after the `@` once UTS 46 mapped (shown list).
    DomainInvalidCharactersAfterNormalization(String),
    PeriodAfterAt,
    EndsWithPeriod,
    HyphenAfterAt,
    EndsWithHyphen,
    PeriodNextToHyphen,
    /// `ab--c.com`: hyphens in the third and fourth positions of a label that is not Punycode.
    ReservedLabelHyphens,
    /// IDNA 2008 refused a label while encoding (the `idna` package's message).
    DomainInvalidIdna(String),
    DomainInvalidAfterIdnaEncoding,
    /// The domain is this many characters over [`MAX_DOMAIN_CHARS`].
    DomainTooLong(usize),
    /// The domain is this many bytes over [`MAX_DOMAIN_CHARS`] in its IDNA ASCII form.
    DomainTooLongAfterIdna(usize),
    /// A label is this many characters over [`MAX_LABEL_CHARS`] in its IDNA ASCII form.
    LabelTooLong(usize),
    NoPeriodInDomain,
    InvalidTopLevelDomain,
    SpecialUseDomain,
    /// IDNA 2008 refused a label while decoding (the `idna` package's message).
    DomainNotValidIdna(String),
    /// IDNA 2008 refused the decoded domain (the `idna` package's message).
    DomainInvalidAfterUnicodeNormalization(String),
    /// The address is this many characters over [`MAX_ADDRESS_CHARS`].
    TooLong(usize),
    /// The address is between this many characters (first) and bytes (second) too long.
    TooLongBetween(usize, usize),
    /// The normalised address is this many UTF-8 bytes over [`MAX_ADDRESS_CHARS`].
    TooLongAfterNormalization(usize),
    /// The address with an IDNA ASCII domain is this many bytes over [`MAX_ADDRESS_CHARS`].
    TooLongAsIdnaAscii(usize),
    /// `Name <address>` where no display name is accepted.
    DisplayName,
}

fn plural(n: usize) -> &'static str {
    if n > 1 {
        "s"
    } else {
        ""
    }
}

impl EmailError {
    /// The sentence email-validator (or pydantic) gives for this problem.
    pub fn reason(&self) -> String {
        match self {
            Self::InputTooLong => format!("Length must not exceed {MAX_INPUT_CHARS} characters"),
            Self::LineBreak => "Carriage return and line feed characters are not allowed".into(),
            Self::NoAtSign => "An email address must have an @-sign.".into(),
            Self::FullWidthAtSign => "The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign.".into(),
            Self::SmallCommercialAt => "The email address has the \"small commercial at\" character instead of a regular at-sign.".into(),
            Self::TextAfterCloseQuote(chars) => {
                format!("Extra character(s) found after close quote: {chars}")
            }
            Self::DisplayNameInvalidCharacters(chars) => {
                format!("The display name contains invalid characters when not quoted: {chars}.")
            }
            Self::UnsafeCharacters(chars) => {
                format!("The email address contains unsafe characters: {chars}.")
            }
            Self::NoCloseAngleBracket => "An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end.".into(),
            Self::TextAfterAngleBracket => "There can't be anything after the email address.".into(),
            Self::NothingBeforeAt => "There must be something before the @-sign.".into(),
            Self::NothingAfterAt => "There must be something after the @-sign.".into(),
            Self::LocalInvalidCharacters(chars) => {
                format!("The email address contains invalid characters before the @-sign: {chars}.")
            }
            Self::QuotedLocalInvalidCharacters(chars) => format!(
                "The email address contains invalid characters in quotes before the @-sign: {chars}."
            ),
            Self::LocalInvalid => {
                "The email address contains invalid characters before the @-sign.".into()
            }
            Self::StartsWithPeriod => "An email address cannot start with a period.".into(),
            Self::PeriodBeforeAt => {
                "An email address cannot have a period immediately before the @-sign.".into()
            }
            Self::ConsecutivePeriods => "An email address cannot have two periods in a row.".into(),
            Self::AfterNormalization(inner) => {
                format!("After Unicode normalization: {}", inner.reason())
            }
            Self::QuotedLocalPart => {
                "Quoting the part before the @-sign is not allowed here.".into()
            }
            Self::DomainLiteral => {
                "A bracketed IP address after the @-sign is not allowed here.".into()
            }
            Self::InvalidIpv4Literal(e) => format!(
                "The address in brackets after the @-sign is not valid: It is not an IPv4 address ({e}) or is missing an address literal tag."
            ),
            Self::InvalidIpv6Literal(e) => {
                format!("The IPv6 address in brackets after the @-sign is not valid ({e}).")
            }
            Self::UntaggedDomainLiteral => "The part after the @-sign in brackets is not an IPv4 address and has no address literal tag.".into(),
            Self::DomainLiteralInvalidCharacters(chars) => format!(
                "The part after the @-sign contains invalid characters in brackets: {chars}."
            ),
            Self::UnknownDomainLiteralTag => "The part after the @-sign contains an invalid address literal tag in brackets.".into(),
            Self::DomainInvalidCharacters(chars) => {
                format!("The part after the @-sign contains invalid characters: {chars}.")
            }
            Self::DomainUts46(e) => {
                format!("The part after the @-sign contains invalid characters ({e}).")
            }
            Self::DomainInvalidCharactersAfterNormalization(chars) => format!(
                "The part after the @-sign contains invalid characters after Unicode normalization: {chars}."
            ),
            Self::PeriodAfterAt => {
                "An email address cannot have a period immediately after the @-sign.".into()
            }
            Self::EndsWithPeriod => "An email address cannot end with a period.".into(),
            Self::HyphenAfterAt => {
                "An email address cannot have a hyphen immediately after the @-sign.".into()
            }
            Self::EndsWithHyphen => "An email address cannot end with a hyphen.".into(),
            Self::PeriodNextToHyphen => {
                "An email address cannot have a period and a hyphen next to each other.".into()
            }
            Self::ReservedLabelHyphens => "An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.".into(),
            Self::DomainInvalidIdna(e) => format!("The part after the @-sign is invalid ({e})."),
            Self::DomainInvalidAfterIdnaEncoding => "The email address contains invalid characters after the @-sign after IDNA encoding.".into(),
            Self::DomainTooLong(n) => format!(
                "The email address is too long after the @-sign ({n} character{} too many).",
                plural(*n)
            ),
            Self::DomainTooLongAfterIdna(n) => format!(
                "The email address is too long after the @-sign ({n} byte{} too many after IDNA encoding).",
                plural(*n)
            ),
            Self::LabelTooLong(n) => format!(
                "After the @-sign, periods cannot be separated by so many characters ({n} character{} too many).",
                plural(*n)
            ),
            Self::NoPeriodInDomain => {
                "The part after the @-sign is not valid. It should have a period.".into()
            }
            Self::InvalidTopLevelDomain => {
                "The part after the @-sign is not valid. It is not within a valid top-level domain."
                    .into()
            }
            Self::SpecialUseDomain => "The part after the @-sign is a special-use or reserved name that cannot be used with email.".into(),
            Self::DomainNotValidIdna(e) => {
                format!("The part after the @-sign is not valid IDNA ({e}).")
            }
            Self::DomainInvalidAfterUnicodeNormalization(e) => format!(
                "The part after the @-sign became invalid after normalizing to international characters ({e})."
            ),
            Self::TooLong(n) => format!(
                "The email address is too long ({n} character{} too many).",
                plural(*n)
            ),
            Self::TooLongBetween(min, max) => format!(
                "The email address is too long ({min}-{max} character{} too many).",
                plural(*max)
            ),
            Self::TooLongAfterNormalization(n) => format!(
                "The email address is too long after normalization ({n} byte{} too many).",
                plural(*n)
            ),
            Self::TooLongAsIdnaAscii(n) => format!(
                "The email address is too long when the part after the @-sign is converted to IDNA ASCII ({n} byte{} too many).",
                plural(*n)
            ),
            Self::DisplayName => "A display name and angle brackets around the email address are not permitted here.".into(),
        }
    }
}

impl EmailAddress {
    /// Parses and normalises a bare address: pydantic's `validate_email` without its
    /// `Name <address>` unwrapping, so that form fails with [`EmailError::DisplayName`] (after
    /// every other check, as email-validator orders it). Surrounding white space is dropped.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        pydantic_prechecks(raw)?;
        Ok(Self::from_normalized(validate_email(py_strip(raw))?))
    }

    /// Parses and normalises an address exactly as pydantic v2's `EmailStr` does: the
    /// 2048-character and line-break checks, then `Name <address>` or `"Name" <address>` reduced
    /// to the address (the name is dropped), surrounding white space dropped, then
    /// email-validator. [`Self::as_str`] is then pydantic's validated value.
    pub fn parse_pydantic(raw: &str) -> Result<Self, EmailError> {
        pydantic_prechecks(raw)?;
        let address = pydantic_pretty_address(raw).unwrap_or(raw);
        Ok(Self::from_normalized(validate_email(py_strip(address))?))
    }

    fn from_normalized(normalized: String) -> Self {
        let key = normalized.to_lowercase();
        Self { normalized, key }
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

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map_or("", |(local, _)| local)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_refuses_display_names_but_shares_every_other_rule() {
        assert_eq!(
            EmailAddress::parse("Jane <jane@example.com>"),
            Err(EmailError::DisplayName)
        );
        assert_eq!(
            EmailAddress::parse("<jane@example.com>"),
            Err(EmailError::DisplayName)
        );
        assert_eq!(
            EmailAddress::parse_pydantic("Jane <jane@example.com>")
                .unwrap()
                .as_str(),
            "jane@example.com"
        );
        // A broken address in angle brackets is reported as such before the display name.
        assert_eq!(
            EmailAddress::parse("Jane <jane@localhost>"),
            Err(EmailError::NoPeriodInDomain)
        );
        for raw in [
            "  Jane.Doe@Example.COM ",
            "user@xn--bcher-kva.de",
            "a..b@example.com",
            "a@[192.0.2.1]",
            "x@",
        ] {
            assert_eq!(
                EmailAddress::parse(raw),
                EmailAddress::parse_pydantic(raw),
                "{raw}"
            );
        }
    }

    #[test]
    fn normalised_addresses_have_lowercase_keys_and_parse_to_themselves() {
        let email = EmailAddress::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe@example.com");
        assert_eq!(email.key(), "jane.doe@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.local_part(), "Jane.Doe");

        let ascii = EmailAddress::parse("Ünïcode@xn--bcher-kva.de").unwrap();
        let unicode = EmailAddress::parse("ünïcode@BÜCHER.DE").unwrap();
        assert_eq!(ascii.as_str(), "Ünïcode@bücher.de");
        assert_eq!(ascii.key(), unicode.key());
        assert_eq!(EmailAddress::parse(ascii.as_str()).unwrap(), ascii);
    }

    #[test]
    fn reasons_are_email_validators_sentences() {
        assert_eq!(
            EmailError::InputTooLong.reason(),
            "Length must not exceed 2048 characters"
        );
        assert_eq!(
            EmailError::TooLong(1).to_string(),
            "The email address is too long (1 character too many)."
        );
        assert_eq!(
            EmailError::AfterNormalization(Box::new(EmailError::ConsecutivePeriods)).reason(),
            "After Unicode normalization: An email address cannot have two periods in a row."
        );
    }

    proptest! {
        #[test]
        fn a_normalised_address_parses_to_itself(
            local in "[a-zA-Z0-9_+-]{1,20}(\\.[a-zA-Z0-9_+-]{1,10}){0,2}",
            domain in "[a-zA-Z0-9]{1,20}\\.(com|org|net|example|DE|xn--bcher-kva)",
        ) {
            let first = EmailAddress::parse(&format!("{local}@{domain}")).unwrap();
            let second = EmailAddress::parse(first.as_str()).unwrap();
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(first.key(), first.as_str().to_lowercase());
        }

        #[test]
        fn parsing_never_panics(raw in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&raw);
            let _ = EmailAddress::parse_pydantic(&raw);
        }

        #[test]
        fn parsing_address_shaped_noise_never_panics(
            local in "[\\PC\"\\\\ .]{0,12}",
            domain in "[\\PCxn\\-.\\[\\]:]{0,24}",
            wrap in 0..3u8,
        ) {
            let raw = match wrap {
                0 => format!("{local}@{domain}"),
                1 => format!("{local} <{local}@xn--{domain}>"),
                _ => format!("\"{local}\"@[{domain}]"),
            };
            let _ = EmailAddress::parse(&raw);
            let _ = EmailAddress::parse_pydantic(&raw);
        }
    }
}
