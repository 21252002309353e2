//! email-validator's domain-name rules: host name syntax, IDNA round trip, lengths, TLD.

use icu_properties::props::GeneralCategory;

use super::idna::{idna_alabel, idna_decode, idna_encode, uts46_remap};
use super::syntax::check_unsafe_chars;
use super::unicode::{general_category, shown_set};
use super::{EmailError, MAX_DOMAIN_CHARS, MAX_LABEL_CHARS};

/// Domains reserved by RFC 6761 and friends: they never receive mail (email-validator's list).
const SPECIAL_USE_DOMAINS: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];

/// RFC 952 host name characters, plus any non-ASCII character (email-validator's
/// `ATEXT_HOSTNAME_INTL`).
fn is_hostname_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii()
}

/// Dot-separated LDH labels that neither start nor end with a hyphen.
fn is_ascii_hostname(s: &str) -> bool {
    s.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

pub(super) struct Domain {
    pub(super) unicode: String,
    pub(super) ascii: String,
}

/// email-validator's `validate_email_domain_name`, globally deliverable, no test environment.
pub(super) fn check_domain_name(domain: &str) -> Result<Domain, EmailError> {
    if let Some(shown) = shown_set(domain.chars().filter(|&c| !is_hostname_char(c))) {
        return Err(EmailError::DomainInvalidCharacters(shown));
    }
    check_unsafe_chars(domain, false)?;
    if let Some(shown) = shown_set(domain.chars().filter(|&c| !uts46_valid_char(c))) {
        return Err(EmailError::DomainInvalidCharacters(shown));
    }
    let mapped = uts46_remap(domain).map_err(EmailError::DomainUts46)?;
    if let Some(shown) = shown_set(mapped.chars().filter(|&c| !is_hostname_char(c))) {
        return Err(EmailError::DomainInvalidCharactersAfterNormalization(shown));
    }
    if mapped.ends_with('.') {
        return Err(EmailError::EndsWithPeriod);
    }
    if mapped.starts_with('.') {
        return Err(EmailError::PeriodAfterAt);
    }
    if mapped.contains("..") {
        return Err(EmailError::ConsecutivePeriods);
    }
    if mapped.ends_with('-') {
        return Err(EmailError::EndsWithHyphen);
    }
    if mapped.starts_with('-') {
        return Err(EmailError::HyphenAfterAt);
    }
    if mapped.contains(".-") || mapped.contains("-.") {
        return Err(EmailError::PeriodNextToHyphen);
    }
    // RFC 5890 R-LDH labels: `??--` is reserved except for `xn--`.
    for label in mapped.split('.') {
        let mut chars = label.chars();
        let start: Vec<char> = chars.by_ref().take(4).collect();
        if let [a, b, '-', '-'] = start[..] {
            if !(a.eq_ignore_ascii_case(&'x') && b.eq_ignore_ascii_case(&'n')) {
                return Err(EmailError::ReservedLabelHyphens);
            }
        }
    }

    let ascii = if is_ascii_hostname(&mapped) {
        mapped.clone()
    } else {
        let labels = mapped
            .split('.')
            .map(idna_alabel)
            .collect::<Result<Vec<_>, _>>()
            .map_err(EmailError::DomainInvalidIdna)?;
        let ascii = labels.join(".");
        if !is_ascii_hostname(&ascii) {
            return Err(EmailError::DomainInvalidAfterIdnaEncoding);
        }
        ascii
    };
    if ascii.len() > MAX_DOMAIN_CHARS {
        let over = ascii.len() - MAX_DOMAIN_CHARS;
        return Err(if ascii == domain {
            EmailError::DomainTooLong(over)
        } else {
            EmailError::DomainTooLongAfterIdna(over)
        });
    }
    if let Some(label) = ascii.split('.').find(|l| l.len() > MAX_LABEL_CHARS) {
        return Err(EmailError::LabelTooLong(label.len() - MAX_LABEL_CHARS));
    }
    if !ascii.contains('.') {
        return Err(EmailError::NoPeriodInDomain);
    }
    if !ascii.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(EmailError::InvalidTopLevelDomain);
    }
    if SPECIAL_USE_DOMAINS.iter().any(|special| {
        ascii == *special
            || ascii
                .strip_suffix(special)
                .is_some_and(|rest| rest.ends_with('.'))
    }) {
        return Err(EmailError::SpecialUseDomain);
    }

    let unicode = idna_decode(&ascii).map_err(EmailError::DomainNotValidIdna)?;
    if let Some(shown) = shown_set(unicode.chars().filter(|&c| !is_hostname_char(c))) {
        return Err(EmailError::DomainInvalidCharacters(shown));
    }
    check_unsafe_chars(&unicode, false)?;
    idna_encode(&unicode).map_err(EmailError::DomainInvalidAfterUnicodeNormalization)?;
    Ok(Domain { unicode, ascii })
}

/// email-validator's `uts46_valid_char`: refuses, with its own message, what UTS 46 would.
fn uts46_valid_char(c: char) -> bool {
    use GeneralCategory as G;
    let cp = u32::from(c);
    if (0x80..=0x9F).contains(&cp) {
        return false;
    }
    if ((0x2010..=0x2060).contains(&cp)
        && !(0x2024..=0x2026).contains(&cp)
        && !(0x2028..=0x202E).contains(&cp))
        || matches!(cp, 0x00AD | 0x2064 | 0xFF0E)
        || (0x200B..=0x200D).contains(&cp)
        || (0x1BCA0..=0x1BCA3).contains(&cp)
    {
        return true;
    }
    if matches!(
        general_category(cp),
        G::Format
            | G::Unassigned
            | G::PrivateUse
            | G::Surrogate
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    ) {
        return false;
    }
    // Characters whose decomposition mapping includes a FULL STOP.
    !matches!(
        cp,
        0x2024..=0x2026 | 0x2488..=0x249B | 0x33C2 | 0x33C7 | 0x33D8 | 0xFE52 | 0xFF0E | 0x1F100
    )
}
