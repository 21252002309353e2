//! email-validator's `validate_email` as pydantic calls it: the checks in order, and the lengths.

use super::domain::check_domain_name;
use super::syntax::{check_domain_literal, check_local_part, split_email};
use super::unicode::nfc;
use super::{EmailError, MAX_ADDRESS_CHARS};

/// RFC 2142 mailbox names, which email-validator lowercases in the normalised form.
const CASE_INSENSITIVE_MAILBOX_NAMES: &[&str] = &[
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
];

/// Validates an address (already stripped) and returns its normalised form.
pub(super) fn validate_email(email: &str) -> Result<String, EmailError> {
    let split = split_email(email)?;

    let checked = check_local_part(&split.local, split.quoted_local)?;
    let mut local_part = checked.text;
    let mut ascii_local_part = checked.ascii.then(|| local_part.clone());
    let normalized_local = nfc(&local_part);
    if normalized_local != local_part {
        check_local_part(&normalized_local, split.quoted_local)
            .map_err(|e| EmailError::AfterNormalization(Box::new(e)))?;
        local_part = normalized_local;
    }
    if split.quoted_local {
        return Err(EmailError::QuotedLocalPart);
    }
    if let Some(ascii) = &mut ascii_local_part {
        if CASE_INSENSITIVE_MAILBOX_NAMES.contains(&ascii.to_ascii_lowercase().as_str()) {
            ascii.make_ascii_lowercase();
            local_part.make_ascii_lowercase();
        }
    }

    if split.domain.is_empty() {
        return Err(EmailError::NothingAfterAt);
    }
    if let Some(literal) = split
        .domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
    {
        check_domain_literal(literal)?;
        return Err(EmailError::DomainLiteral);
    }
    let domain = check_domain_name(split.domain)?;

    let normalized = format!("{local_part}@{}", domain.unicode);
    let original = if split.quoted_local {
        format!("\"{}\"@{}", split.local, split.domain)
    } else {
        format!("{}@{}", split.local, split.domain)
    };
    let ascii_form = format!(
        "{}@{}",
        ascii_local_part.as_deref().unwrap_or(&local_part),
        domain.ascii
    );
    check_length(&original, &normalized, &ascii_form)?;

    if split.has_display_name {
        return Err(EmailError::DisplayName);
    }
    Ok(normalized)
}

/// Checks the three forms email-validator measures, in UTF-8 bytes.
fn check_length(original: &str, normalized: &str, ascii_form: &str) -> Result<(), EmailError> {
    if original.len() > MAX_ADDRESS_CHARS {
        let over = original.len() - MAX_ADDRESS_CHARS;
        let chars = original.chars().count();
        if chars == original.len() {
            return Err(EmailError::TooLong(over));
        }
        let widest = original.chars().map(char::len_utf8).max().unwrap_or(1);
        let at_least = (over / widest).max(1);
        return Err(if at_least == over {
            EmailError::TooLong(over)
        } else {
            EmailError::TooLongBetween(at_least, over)
        });
    }
    if normalized.len() > MAX_ADDRESS_CHARS {
        return Err(EmailError::TooLongAfterNormalization(
            normalized.len() - MAX_ADDRESS_CHARS,
        ));
    }
    if ascii_form.len() > MAX_ADDRESS_CHARS {
        return Err(EmailError::TooLongAsIdnaAscii(
            ascii_form.len() - MAX_ADDRESS_CHARS,
        ));
    }
    Ok(())
}
