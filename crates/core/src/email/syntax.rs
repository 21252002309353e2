//! Address syntax: the split at the `@`, quoting, the local part, domain literals, IPv4/IPv6.

use std::collections::BTreeSet;

use icu_properties::props::GeneralCategory;

use super::unicode::{
    general_category, is_py_space, major_category, py_repr, show_char, shown_set, Major, NFC,
};
use super::EmailError;

/// The address split as email-validator's `split_email` does.
pub(super) struct SplitEmail<'a> {
    pub(super) has_display_name: bool,
    /// Unquoted and unescaped.
    pub(super) local: String,
    pub(super) quoted_local: bool,
    pub(super) domain: &'a str,
}

pub(super) fn split_email(email: &str) -> Result<SplitEmail<'_>, EmailError> {
    let (left, right) = email.split_at(find_unquoted_special(email, &['@', '<'])?);
    let (has_display_name, local, domain) = if right.starts_with('<') {
        let (name, name_quoted) = unquote(left.trim_end_matches(is_py_space))?;
        if !name_quoted {
            if let Some(shown) = shown_set(name.chars().filter(|&c| !is_atext(c) && c != ' ')) {
                return Err(EmailError::DisplayNameInvalidCharacters(shown));
            }
        }
        check_unsafe_chars(&name, true)?;
        if !right.contains('>') {
            return Err(EmailError::NoCloseAngleBracket);
        }
        let right = right.trim_end_matches(' ');
        if !right.ends_with('>') {
            return Err(EmailError::TextAfterAngleBracket);
        }
        let addr_spec = right
            .strip_prefix('<')
            .unwrap_or(right)
            .trim_end_matches('>');
        let (local, domain) = addr_spec.split_at(find_unquoted_special(addr_spec, &['@'])?);
        (true, local, domain)
    } else {
        (false, left, right)
    };
    let domain = domain.strip_prefix('@').unwrap_or(domain);
    let (local, quoted_local) = unquote(local)?;
    Ok(SplitEmail {
        has_display_name,
        local,
        quoted_local,
        domain,
    })
}

/// The byte offset of the first of `specials` that is outside quotes and does not combine with
/// what follows it (`<` + U+0338 is `≮`, not an angle bracket).
fn find_unquoted_special(text: &str, specials: &[char]) -> Result<usize, EmailError> {
    let mut inside_quote = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if changes_under_nfc(&text[at..], c) {
            continue;
        }
        if inside_quote {
            if c == '\\' && !escaped {
                escaped = true;
            } else if c == '"' && !escaped {
                inside_quote = false;
                escaped = false;
            } else {
                escaped = false;
            }
        } else if c == '"' {
            inside_quote = true;
        } else if specials.contains(&c) {
            return Ok(at);
        }
    }
    if text.contains('\u{FF20}') {
        Err(EmailError::FullWidthAtSign)
    } else if text.contains('\u{FE6B}') {
        Err(EmailError::SmallCommercialAt)
    } else {
        Err(EmailError::NoAtSign)
    }
}

/// Whether the NFC form of `rest` (which starts with `c`) starts with something else.
fn changes_under_nfc(rest: &str, c: char) -> bool {
    let mut chars = rest.chars();
    chars.next();
    if c.is_ascii() && chars.next().is_none_or(|next| next.is_ascii()) {
        return false;
    }
    NFC.normalize_iter(rest.chars()).next() != Some(c)
}

/// Removes surrounding quotes and backslash escapes, as email-validator's `unquote_quoted_string`
/// does; tells whether the text was quoted.
fn unquote(text: &str) -> Result<(String, bool), EmailError> {
    let last = text.chars().count().saturating_sub(1);
    let mut quoted = false;
    let mut escaped = false;
    let mut value = String::new();
    for (i, (at, c)) in text.char_indices().enumerate() {
        if quoted {
            if escaped {
                value.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                if i != last {
                    let shown: Vec<String> = text[at + 1..].chars().map(show_char).collect();
                    return Err(EmailError::TextAfterCloseQuote(shown.join(", ")));
                }
                break;
            } else {
                value.push(c);
            }
        } else if i == 0 && c == '"' {
            quoted = true;
        } else {
            value.push(c);
        }
    }
    Ok((value, quoted))
}

/// RFC 5322 `atext`.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// RFC 6531 `atext`: any non-ASCII character too.
fn is_atext_intl(c: char) -> bool {
    is_atext(c) || !c.is_ascii()
}

/// A dot-atom of characters that `atom` accepts.
fn is_dot_atom(s: &str, atom: fn(char) -> bool) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..")
        && s.chars().all(|c| c == '.' || atom(c))
}

pub(super) struct LocalPart {
    /// Re-quoted if it needed the quotes.
    pub(super) text: String,
    /// Whether it is plain ASCII (email-validator's `ascii_local_part` is set).
    pub(super) ascii: bool,
}

/// email-validator's `validate_email_local_part` with `allow_smtputf8=True`.
pub(super) fn check_local_part(local: &str, quoted: bool) -> Result<LocalPart, EmailError> {
    if local.is_empty() {
        return Err(EmailError::NothingBeforeAt);
    }
    if is_dot_atom(local, is_atext) {
        return Ok(LocalPart {
            text: local.to_string(),
            ascii: true,
        });
    }
    let (needs_quotes, smtputf8) = if is_dot_atom(local, is_atext_intl) {
        (false, true)
    } else if quoted {
        let is_qtext = |c: char| (' '..='~').contains(&c) || !c.is_ascii();
        if let Some(shown) = shown_set(local.chars().filter(|&c| !is_qtext(c))) {
            return Err(EmailError::QuotedLocalInvalidCharacters(shown));
        }
        (true, !local.is_ascii())
    } else {
        let invalid = |c: char| c != '.' && !is_atext_intl(c);
        if let Some(shown) = shown_set(local.chars().filter(|&c| invalid(c))) {
            return Err(EmailError::LocalInvalidCharacters(shown));
        }
        return Err(if local.ends_with('.') {
            EmailError::PeriodBeforeAt
        } else if local.starts_with('.') {
            EmailError::StartsWithPeriod
        } else if local.contains("..") {
            EmailError::ConsecutivePeriods
        } else {
            EmailError::LocalInvalid
        });
    };
    check_unsafe_chars(local, needs_quotes)?;
    let text = if needs_quotes {
        let mut text = String::from('"');
        for c in local.chars() {
            if c == '"' || c == '\\' {
                text.push('\\');
            }
            text.push(c);
        }
        text.push('"');
        text
    } else {
        local.to_string()
    };
    Ok(LocalPart {
        text,
        ascii: !smtputf8,
    })
}

/// email-validator's `check_unsafe_chars`: letters, marks (not first), numbers, punctuation
/// and symbols only, plus spaces if `allow_space`.
pub(super) fn check_unsafe_chars(s: &str, allow_space: bool) -> Result<(), EmailError> {
    let unsafe_chars: BTreeSet<char> = s
        .chars()
        .enumerate()
        .filter(|&(i, c)| match major_category(u32::from(c)) {
            Major::Letter | Major::Number | Major::Punctuation | Major::Symbol => false,
            Major::Mark => i == 0,
            Major::Separator => {
                !(allow_space && general_category(u32::from(c)) == GeneralCategory::SpaceSeparator)
            }
            Major::Other => true,
        })
        .map(|(_, c)| c)
        .collect();
    if unsafe_chars.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = unsafe_chars.into_iter().map(show_char).collect();
    Err(EmailError::UnsafeCharacters(shown.join(", ")))
}

/// The checks email-validator makes on a domain literal (`[...]`) before refusing it anyway.
pub(super) fn check_domain_literal(literal: &str) -> Result<(), EmailError> {
    // `re.match(r"^[0-9\.]+$", ...)`, where `$` also matches before a final line feed.
    let body = literal.strip_suffix('\n').unwrap_or(literal);
    if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return python_ipv4(literal)
            .map(drop)
            .map_err(EmailError::InvalidIpv4Literal);
    }
    // The tag is case-insensitive (email-validator 2.4, RFC 5234 2.3).
    let tagged = literal
        .get(..5)
        .filter(|tag| tag.eq_ignore_ascii_case("ipv6:"))
        .and_then(|_| literal.get(5..));
    if let Some(address) = tagged {
        python_ipv6(address).map_err(EmailError::InvalidIpv6Literal)?;
        // Python accepts a zone index (`%eth0`); RFC 5321 4.1.3 does not.
        if address.contains('%') {
            return Err(EmailError::InvalidIpv6Literal("It has a zone index".into()));
        }
        return Ok(());
    }
    if !literal.contains(':') {
        return Err(EmailError::UntaggedDomainLiteral);
    }
    if let Some(shown) = shown_set(
        literal
            .chars()
            .filter(|&c| !('\u{21}'..='\u{FA}').contains(&c)),
    ) {
        return Err(EmailError::DomainLiteralInvalidCharacters(shown));
    }
    Err(EmailError::UnknownDomainLiteralTag)
}

/// Python's `ipaddress.IPv4Address(text)`: the address, or the error message.
fn python_ipv4(text: &str) -> Result<u32, String> {
    if text.contains('/') {
        return Err(format!("Unexpected '/' in {}", py_repr(text)));
    }
    if text.is_empty() {
        return Err("Address cannot be empty".into());
    }
    let octets: Vec<&str> = text.split('.').collect();
    if octets.len() != 4 {
        return Err(format!("Expected 4 octets in {}", py_repr(text)));
    }
    let mut address = 0u32;
    for octet in octets {
        let value = python_ipv4_octet(octet).map_err(|e| format!("{e} in {}", py_repr(text)))?;
        address = address << 8 | value;
    }
    Ok(address)
}

fn python_ipv4_octet(octet: &str) -> Result<u32, String> {
    if octet.is_empty() {
        return Err("Empty octet not permitted".into());
    }
    if !octet.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "Only decimal digits permitted in {}",
            py_repr(octet)
        ));
    }
    if octet.len() > 3 {
        return Err(format!(
            "At most 3 characters permitted in {}",
            py_repr(octet)
        ));
    }
    if octet != "0" && octet.starts_with('0') {
        return Err(format!(
            "Leading zeros are not permitted in {}",
            py_repr(octet)
        ));
    }
    let value: u32 = octet.parse().unwrap_or(u32::MAX);
    if value > 255 {
        return Err(format!("Octet {value} (> 255) not permitted"));
    }
    Ok(value)
}

/// Python's (3.11) `ipaddress.IPv6Address(text)`: nothing, or the error message.
fn python_ipv6(text: &str) -> Result<(), String> {
    if text.contains('/') {
        return Err(format!("Unexpected '/' in {}", py_repr(text)));
    }
    let address = match text.split_once('%') {
        Some((_, scope)) if scope.is_empty() || scope.contains('%') => {
            return Err(format!("Invalid IPv6 address: \"{}\"", py_repr(text)));
        }
        Some((address, _)) => address,
        None => text,
    };
    if address.is_empty() {
        return Err("Address cannot be empty".into());
    }
    let in_address = |e: String| format!("{e} in {}", py_repr(address));
    let mut parts: Vec<String> = address.split(':').map(String::from).collect();
    if parts.len() < 3 {
        return Err(format!("At least 3 parts expected in {}", py_repr(address)));
    }
    if let Some(last) = parts.pop() {
        if last.contains('.') {
            let ipv4 = python_ipv4(&last).map_err(in_address)?;
            parts.push(format!("{:x}", ipv4 >> 16));
            parts.push(format!("{:x}", ipv4 & 0xFFFF));
        } else {
            parts.push(last);
        }
    }
    if parts.len() > 9 {
        return Err(format!(
            "At most 8 colons permitted in {}",
            py_repr(address)
        ));
    }
    let count = parts.len();
    let mut skip_index = None;
    for (i, part) in parts.iter().enumerate().take(count - 1).skip(1) {
        if part.is_empty() {
            if skip_index.is_some() {
                return Err(format!(
                    "At most one '::' permitted in {}",
                    py_repr(address)
                ));
            }
            skip_index = Some(i);
        }
    }
    let leading_empty = parts.first().is_some_and(String::is_empty);
    let trailing_empty = parts.last().is_some_and(String::is_empty);
    let leading = || {
        format!(
            "Leading ':' only permitted as part of '::' in {}",
            py_repr(address)
        )
    };
    let trailing = || {
        format!(
            "Trailing ':' only permitted as part of '::' in {}",
            py_repr(address)
        )
    };
    let (high, low) = if let Some(skip) = skip_index {
        let mut high = skip;
        let mut low = count - skip - 1;
        if leading_empty {
            high -= 1;
            if high > 0 {
                return Err(leading());
            }
        }
        if trailing_empty {
            low -= 1;
            if low > 0 {
                return Err(trailing());
            }
        }
        if high + low > 7 {
            return Err(format!(
                "Expected at most 7 other parts with '::' in {}",
                py_repr(address)
            ));
        }
        (high, low)
    } else {
        if count != 8 {
            return Err(format!(
                "Exactly 8 parts expected without '::' in {}",
                py_repr(address)
            ));
        }
        if leading_empty {
            return Err(leading());
        }
        if trailing_empty {
            return Err(trailing());
        }
        (count, 0)
    };
    for part in parts[..high].iter().chain(&parts[count - low..]) {
        python_ipv6_hextet(part).map_err(in_address)?;
    }
    Ok(())
}

fn python_ipv6_hextet(hextet: &str) -> Result<(), String> {
    if !hextet.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("Only hex digits permitted in {}", py_repr(hextet)));
    }
    if hextet.len() > 4 {
        return Err(format!(
            "At most 4 characters permitted in {}",
            py_repr(hextet)
        ));
    }
    if hextet.is_empty() {
        return Err("invalid literal for int() with base 16: ''".into());
    }
    Ok(())
}
