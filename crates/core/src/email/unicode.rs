//! Unicode facts (categories, names, NFC) and Python's `str` ways (isspace, strip, repr).

use std::collections::BTreeSet;

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::GeneralCategory;
use icu_properties::CodePointMapData;

/// Python's `str.isspace()`, which is also what `\s` matches in its `re`.
pub(super) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1C}'..='\u{20}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()`.
pub(super) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

pub(super) const NFC: ComposingNormalizerBorrowed<'static> = ComposingNormalizerBorrowed::new_nfc();

pub(super) fn nfc(s: &str) -> String {
    NFC.normalize(s).into_owned()
}

pub(super) fn general_category(cp: u32) -> GeneralCategory {
    CodePointMapData::<GeneralCategory>::new().get32(cp)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Major {
    Letter,
    Mark,
    Number,
    Punctuation,
    Symbol,
    Separator,
    Other,
}

/// The first letter of the general category.
pub(super) fn major_category(cp: u32) -> Major {
    use GeneralCategory as G;
    match general_category(cp) {
        G::UppercaseLetter
        | G::LowercaseLetter
        | G::TitlecaseLetter
        | G::ModifierLetter
        | G::OtherLetter => Major::Letter,
        G::NonspacingMark | G::EnclosingMark | G::SpacingMark => Major::Mark,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => Major::Number,
        G::DashPunctuation
        | G::OpenPunctuation
        | G::ClosePunctuation
        | G::ConnectorPunctuation
        | G::OtherPunctuation
        | G::InitialPunctuation
        | G::FinalPunctuation => Major::Punctuation,
        G::MathSymbol | G::CurrencySymbol | G::ModifierSymbol | G::OtherSymbol => Major::Symbol,
        G::SpaceSeparator | G::LineSeparator | G::ParagraphSeparator => Major::Separator,
        _ => Major::Other,
    }
}

/// Whether Python's `unicodedata.name` knows the code point: controls, private use,
/// surrogates and unassigned code points have no name.
pub(super) fn has_unicode_name(cp: u32) -> bool {
    use GeneralCategory as G;
    !matches!(
        general_category(cp),
        G::Control | G::PrivateUse | G::Surrogate | G::Unassigned
    )
}

/// email-validator's `safe_character_display`.
pub(super) fn show_char(c: char) -> String {
    if c == '\\' {
        return "\"\\\"".into();
    }
    let cp = u32::from(c);
    if matches!(
        major_category(cp),
        Major::Letter | Major::Number | Major::Punctuation | Major::Symbol
    ) {
        return py_repr(c.encode_utf8(&mut [0; 4]));
    }
    let hex = if cp < 0xFFFF {
        format!("U+{cp:04X}")
    } else {
        format!("U+{cp:08X}")
    };
    if !has_unicode_name(cp) {
        return hex;
    }
    unicode_names2::name(c).map_or(hex, |name| name.to_string())
}

/// email-validator's `", ".join(sorted({safe_character_display(c) for c in ...}))`, or `None`
/// for no characters.
pub(super) fn shown_set(chars: impl Iterator<Item = char>) -> Option<String> {
    let shown: BTreeSet<String> = chars.map(show_char).collect();
    (!shown.is_empty()).then(|| shown.into_iter().collect::<Vec<_>>().join(", "))
}

pub(super) fn py_repr(s: &str) -> String {
    py_repr_code_points(&s.chars().map(u32::from).collect::<Vec<_>>())
}

/// Python's `repr()` of a string.
pub(super) fn py_repr_code_points(code_points: &[u32]) -> String {
    let single = u32::from('\'');
    let double = u32::from('"');
    let quote = if code_points.contains(&single) && !code_points.contains(&double) {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for &cp in code_points {
        match char::from_u32(cp) {
            Some(c) if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Some('\t') => out.push_str("\\t"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some(c) if c == ' ' || (c.is_ascii_graphic()) => out.push(c),
            Some(c)
                if !c.is_ascii()
                    && !matches!(major_category(cp), Major::Separator | Major::Other) =>
            {
                out.push(c);
            }
            _ if cp <= 0xFF => out.push_str(&format!("\\x{cp:02x}")),
            _ if cp <= 0xFFFF => out.push_str(&format!("\\u{cp:04x}")),
            _ => out.push_str(&format!("\\U{cp:08x}")),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_and_character_display() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("'\""), "'\\'\"'");
        assert_eq!(
            py_repr("a\tb\u{7f}\u{85}é\u{200b}\u{1F600}\u{E0001}"),
            "'a\\tb\\x7f\\x85é\\u200b\u{1F600}\\U000e0001'"
        );
        assert_eq!(py_repr_code_points(&[0x61, 0xD800]), "'a\\ud800'");
        assert_eq!(show_char(' '), "SPACE");
        assert_eq!(show_char('\\'), "\"\\\"");
        assert_eq!(show_char('\''), "\"'\"");
        assert_eq!(show_char('\0'), "U+0000");
        assert_eq!(show_char('\u{E000}'), "U+E000");
        assert_eq!(show_char('\u{E0001}'), "LANGUAGE TAG");
        assert_eq!(show_char('\u{F0000}'), "U+000F0000");
    }
}
