//! The `idna` package's IDNA 2008: UTS 46 remap, A/U-labels, CONTEXTJ/O, Bidi rule, NFC check.

// Labels are code point sequences because Punycode can decode to lone surrogates, which Python
// keeps.

use icu_normalizer::uts46::Uts46MapperBorrowed;
use icu_properties::props::{
    BidiClass, CanonicalCombiningClass, ChangesWhenNfkcCasefolded, DefaultIgnorableCodePoint,
    GeneralCategory, HangulSyllableType, JoinControl, JoiningType, NoncharacterCodePoint, Script,
    WhiteSpace,
};
use icu_properties::{CodePointMapData, CodePointSetData};

use super::punycode::{punycode_decode, punycode_encode};
use super::unicode::{
    general_category, has_unicode_name, major_category, py_repr, py_repr_code_points, Major, NFC,
};
use super::{MAX_DOMAIN_CHARS, MAX_LABEL_CHARS};

/// The `idna` package refuses longer domains and labels outright.
const IDNA_MAX_INPUT_CHARS: usize = 1024;

type IdnaResult<T> = Result<T, String>;

/// `idna.uts46_remap(domain, std3_rules=False, transitional=False)`.
pub(super) fn uts46_remap(domain: &str) -> IdnaResult<String> {
    if domain.chars().count() > IDNA_MAX_INPUT_CHARS {
        return Err("Domain too long".into());
    }
    if domain.is_ascii() {
        return Ok(domain.to_ascii_lowercase());
    }
    const MAPPER: Uts46MapperBorrowed<'static> = Uts46MapperBorrowed::new();
    for (position, c) in domain.chars().enumerate() {
        // The mapper turns disallowed characters into U+FFFD (itself disallowed).
        if MAPPER
            .map_normalize(std::iter::once(c))
            .any(|m| m == '\u{FFFD}')
        {
            return Err(format!(
                "Codepoint {} not allowed at position {} in {}",
                unot(u32::from(c)),
                position + 1,
                py_repr(domain)
            ));
        }
    }
    Ok(MAPPER.map_normalize(domain.chars()).collect())
}

/// `idna.alabel(label)`.
pub(super) fn idna_alabel(label: &str) -> IdnaResult<String> {
    if label.chars().count() > IDNA_MAX_INPUT_CHARS {
        return Err("Label too long".into());
    }
    if label.is_ascii() {
        idna_ulabel(label)?;
        if label.len() > MAX_LABEL_CHARS {
            return Err("Label too long".into());
        }
        return Ok(label.to_string());
    }
    let code_points: Vec<u32> = label.chars().map(u32::from).collect();
    check_label(&code_points)?;
    let encoded = format!("xn--{}", punycode_encode(&code_points));
    if encoded.len() > MAX_LABEL_CHARS {
        return Err("Label too long".into());
    }
    Ok(encoded)
}

/// `idna.ulabel(label)` for an ASCII label.
fn idna_ulabel(label: &str) -> IdnaResult<Vec<u32>> {
    if label.chars().count() > IDNA_MAX_INPUT_CHARS {
        return Err("Label too long".into());
    }
    let lower = label.to_ascii_lowercase();
    let Some(punycode) = lower.strip_prefix("xn--") else {
        let code_points: Vec<u32> = lower.chars().map(u32::from).collect();
        check_label(&code_points)?;
        return Ok(code_points);
    };
    if punycode.is_empty() {
        return Err("Malformed A-label, no Punycode eligible content found".into());
    }
    if punycode.ends_with('-') {
        return Err("A-label must not end with a hyphen".into());
    }
    let decoded = punycode_decode(punycode).ok_or("Invalid A-label")?;
    if punycode_encode(&decoded) != punycode {
        return Err("A-label is not the canonical Punycode encoding of its U-label".into());
    }
    check_label(&decoded)?;
    Ok(decoded)
}

/// Label separators `idna.encode` and `idna.decode` split on.
fn is_idna_dot(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Splits a domain into labels as `idna.encode`/`decode` do; tells whether it had a final dot.
fn idna_labels(domain: &str) -> IdnaResult<(Vec<&str>, bool)> {
    let count = domain.chars().count();
    if count > IDNA_MAX_INPUT_CHARS || count > MAX_DOMAIN_CHARS + 1 {
        return Err("Domain too long".into());
    }
    let mut labels: Vec<&str> = domain.split(is_idna_dot).collect();
    if labels.len() == 1 && labels[0].is_empty() {
        return Err("Empty domain".into());
    }
    let trailing_dot = labels.last().is_some_and(|l| l.is_empty());
    if trailing_dot {
        labels.pop();
    }
    Ok((labels, trailing_dot))
}

/// `idna.decode(domain)`.
pub(super) fn idna_decode(domain: &str) -> IdnaResult<String> {
    let (labels, trailing_dot) = idna_labels(domain)?;
    let mut out = Vec::with_capacity(labels.len() + 1);
    for label in labels {
        let decoded = idna_ulabel(label)?;
        if decoded.is_empty() {
            return Err("Empty label".into());
        }
        // check_label refused anything that is not a character.
        let text: Option<String> = decoded.into_iter().map(char::from_u32).collect();
        out.push(text.ok_or("Invalid A-label")?);
    }
    if trailing_dot {
        out.push(String::new());
    }
    Ok(out.join("."))
}

/// `idna.encode(domain)`.
pub(super) fn idna_encode(domain: &str) -> IdnaResult<String> {
    let (labels, trailing_dot) = idna_labels(domain)?;
    let mut out = Vec::with_capacity(labels.len() + 1);
    for label in labels {
        let encoded = idna_alabel(label)?;
        if encoded.is_empty() {
            return Err("Empty label".into());
        }
        out.push(encoded);
    }
    if trailing_dot {
        out.push(String::new());
    }
    let encoded = out.join(".");
    if encoded.len() > MAX_DOMAIN_CHARS + usize::from(trailing_dot) {
        return Err("Domain too long".into());
    }
    Ok(encoded)
}

/// `idna.check_label`: the IDNA 2008 rules for one label.
fn check_label(label: &[u32]) -> IdnaResult<()> {
    if label.len() > IDNA_MAX_INPUT_CHARS {
        return Err("Label too long".into());
    }
    let Some(&first) = label.first() else {
        return Err("Empty Label".into());
    };
    if label.len() > MAX_DOMAIN_CHARS + 1 {
        return Err("Label too long".into());
    }
    if !is_nfc(label) {
        return Err("Label must be in Normalization Form C".into());
    }
    let hyphen = u32::from('-');
    if label.get(2) == Some(&hyphen) && label.get(3) == Some(&hyphen) {
        return Err("Label has disallowed hyphens in 3rd and 4th position".into());
    }
    if first == hyphen || label.last() == Some(&hyphen) {
        return Err("Label must not start or end with a hyphen".into());
    }
    if major_category(first) == Major::Mark {
        return Err("Label begins with an illegal combining character".into());
    }
    for (position, &cp) in label.iter().enumerate() {
        match idna_class(cp) {
            IdnaClass::Pvalid => {}
            IdnaClass::ContextJ => match valid_contextj(label, position) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(format!(
                        "Joiner {} not allowed at position {} in {}",
                        unot(cp),
                        position + 1,
                        py_repr_code_points(label)
                    ))
                }
                Err(()) => {
                    return Err(format!(
                        "Unknown codepoint adjacent to joiner {} at position {} in {}",
                        unot(cp),
                        position + 1,
                        py_repr_code_points(label)
                    ))
                }
            },
            IdnaClass::ContextO => {
                if !valid_contexto(label, position) {
                    return Err(format!(
                        "Codepoint {} not allowed at position {} in {}",
                        unot(cp),
                        position + 1,
                        py_repr_code_points(label)
                    ));
                }
            }
            IdnaClass::Disallowed => {
                return Err(format!(
                    "Codepoint {} at position {} of {} not allowed",
                    unot(cp),
                    position + 1,
                    py_repr_code_points(label)
                ))
            }
        }
    }
    check_bidi(label)
}

/// A label is in NFC if each run of characters between lone surrogates is.
fn is_nfc(label: &[u32]) -> bool {
    label.split(|&cp| char::from_u32(cp).is_none()).all(|run| {
        let text: String = run.iter().filter_map(|&cp| char::from_u32(cp)).collect();
        NFC.is_normalized(&text)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdnaClass {
    Pvalid,
    ContextJ,
    ContextO,
    Disallowed,
}

/// The IDNA 2008 class of a code point, derived from Unicode properties as RFC 5892 section 3
/// says (unassigned code points are not allowed).
fn idna_class(cp: u32) -> IdnaClass {
    use GeneralCategory as G;
    // RFC 5892 2.6 exceptions.
    match cp {
        0x00DF | 0x03C2 | 0x06FD | 0x06FE | 0x0F0B | 0x3007 => return IdnaClass::Pvalid,
        0x00B7 | 0x0375 | 0x05F3 | 0x05F4 | 0x30FB | 0x0660..=0x0669 | 0x06F0..=0x06F9 => {
            return IdnaClass::ContextO
        }
        0x0640 | 0x07FA | 0x302E | 0x302F | 0x3031..=0x3035 | 0x303B => {
            return IdnaClass::Disallowed
        }
        _ => {}
    }
    let category = general_category(cp);
    let has = |set: icu_properties::CodePointSetDataBorrowed<'static>| set.contains32(cp);
    let noncharacter = has(CodePointSetData::new::<NoncharacterCodePoint>());
    if category == G::Unassigned && !noncharacter {
        return IdnaClass::Disallowed;
    }
    if matches!(cp, 0x2D | 0x30..=0x39 | 0x61..=0x7A) {
        return IdnaClass::Pvalid;
    }
    if has(CodePointSetData::new::<JoinControl>()) {
        return IdnaClass::ContextJ;
    }
    if has(CodePointSetData::new::<ChangesWhenNfkcCasefolded>())
        || has(CodePointSetData::new::<DefaultIgnorableCodePoint>())
        || has(CodePointSetData::new::<WhiteSpace>())
        || noncharacter
        // Combining Diacritical Marks for Symbols, Musical Symbols, Ancient Greek Musical Notation.
        || (0x20D0..=0x20FF).contains(&cp)
        || (0x1D100..=0x1D24F).contains(&cp)
    {
        return IdnaClass::Disallowed;
    }
    let hangul = CodePointMapData::<HangulSyllableType>::new().get32(cp);
    if matches!(
        hangul,
        HangulSyllableType::LeadingJamo
            | HangulSyllableType::VowelJamo
            | HangulSyllableType::TrailingJamo
    ) {
        return IdnaClass::Disallowed;
    }
    if matches!(
        category,
        G::LowercaseLetter
            | G::UppercaseLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::ModifierLetter
            | G::NonspacingMark
            | G::SpacingMark
    ) {
        IdnaClass::Pvalid
    } else {
        IdnaClass::Disallowed
    }
}

/// The canonical combining class, or `Err` where Python's `unicodedata` knows no such
/// character (what `idna` reports as an unknown code point).
fn combining_class(cp: u32) -> Result<u8, ()> {
    let class = CodePointMapData::<CanonicalCombiningClass>::new()
        .get32(cp)
        .0;
    if class == 0 && !has_unicode_name(cp) {
        return Err(());
    }
    Ok(class)
}

/// RFC 5892 appendix A.1 and A.2 (ZERO WIDTH NON-JOINER and JOINER).
fn valid_contextj(label: &[u32], position: usize) -> Result<bool, ()> {
    let virama = CanonicalCombiningClass::Virama.0;
    let joining = |cp: u32| CodePointMapData::<JoiningType>::new().get32(cp);
    let after_virama = match position.checked_sub(1) {
        Some(before) => combining_class(label[before])? == virama,
        None => false,
    };
    match label[position] {
        0x200C => {
            if after_virama {
                return Ok(true);
            }
            let left = label[..position]
                .iter()
                .rev()
                .map(|&cp| joining(cp))
                .find(|&t| t != JoiningType::Transparent);
            if !matches!(
                left,
                Some(JoiningType::LeftJoining | JoiningType::DualJoining)
            ) {
                return Ok(false);
            }
            let right = label[position + 1..]
                .iter()
                .map(|&cp| joining(cp))
                .find(|&t| t != JoiningType::Transparent);
            Ok(matches!(
                right,
                Some(JoiningType::RightJoining | JoiningType::DualJoining)
            ))
        }
        0x200D => Ok(after_virama),
        _ => Ok(false),
    }
}

/// RFC 5892 appendix A.3 to A.9.
fn valid_contexto(label: &[u32], position: usize) -> bool {
    let script = |cp: u32| CodePointMapData::<Script>::new().get32(cp);
    let before = position.checked_sub(1).and_then(|i| label.get(i)).copied();
    let after = label.get(position + 1).copied();
    match label[position] {
        0x00B7 => before == Some(0x6C) && after == Some(0x6C),
        0x0375 => after.is_some_and(|cp| script(cp) == Script::Greek),
        0x05F3 | 0x05F4 => before.is_some_and(|cp| script(cp) == Script::Hebrew),
        0x30FB => label.iter().any(|&cp| {
            cp != 0x30FB
                && matches!(
                    script(cp),
                    Script::Hiragana | Script::Katakana | Script::Han
                )
        }),
        0x0660..=0x0669 => !label.iter().any(|cp| (0x06F0..=0x06F9).contains(cp)),
        0x06F0..=0x06F9 => !label.iter().any(|cp| (0x0660..=0x0669).contains(cp)),
        _ => false,
    }
}

/// RFC 5893 (the Bidi rule), applied to labels with right-to-left characters, as `idna` does.
fn check_bidi(label: &[u32]) -> IdnaResult<()> {
    use BidiClass as B;
    let mut classes = Vec::with_capacity(label.len());
    let mut right_to_left_label = false;
    for (index, &cp) in label.iter().enumerate() {
        if general_category(cp) == GeneralCategory::Unassigned {
            return Err(format!(
                "Unknown directionality in label {} at position {}",
                py_repr_code_points(label),
                index + 1
            ));
        }
        let class = CodePointMapData::<BidiClass>::new().get32(cp);
        right_to_left_label |= matches!(class, B::RightToLeft | B::ArabicLetter | B::ArabicNumber);
        classes.push(class);
    }
    if !right_to_left_label {
        return Ok(());
    }
    let right_to_left = match classes.first().copied() {
        Some(B::RightToLeft | B::ArabicLetter) => true,
        Some(B::LeftToRight) => false,
        _ => {
            return Err(format!(
                "First codepoint in label {} must be directionality L, R or AL",
                py_repr_code_points(label)
            ))
        }
    };
    let mut valid_ending = false;
    let mut number_type = None;
    for (index, &class) in classes.iter().enumerate() {
        if right_to_left {
            if !matches!(
                class,
                B::RightToLeft
                    | B::ArabicLetter
                    | B::ArabicNumber
                    | B::EuropeanNumber
                    | B::EuropeanSeparator
                    | B::CommonSeparator
                    | B::EuropeanTerminator
                    | B::OtherNeutral
                    | B::BoundaryNeutral
                    | B::NonspacingMark
            ) {
                return Err(format!(
                    "Invalid direction for codepoint at position {} in a right-to-left label",
                    index + 1
                ));
            }
            if matches!(
                class,
                B::RightToLeft | B::ArabicLetter | B::EuropeanNumber | B::ArabicNumber
            ) {
                valid_ending = true;
            } else if class != B::NonspacingMark {
                valid_ending = false;
            }
            if matches!(class, B::ArabicNumber | B::EuropeanNumber) {
                match number_type {
                    None => number_type = Some(class),
                    Some(seen) if seen != class => {
                        return Err("Can not mix numeral types in a right-to-left label".into())
                    }
                    Some(_) => {}
                }
            }
        } else {
            if !matches!(
                class,
                B::LeftToRight
                    | B::EuropeanNumber
                    | B::EuropeanSeparator
                    | B::CommonSeparator
                    | B::EuropeanTerminator
                    | B::OtherNeutral
                    | B::BoundaryNeutral
                    | B::NonspacingMark
            ) {
                return Err(format!(
                    "Invalid direction for codepoint at position {} in a left-to-right label",
                    index + 1
                ));
            }
            if matches!(class, B::LeftToRight | B::EuropeanNumber) {
                valid_ending = true;
            } else if class != B::NonspacingMark {
                valid_ending = false;
            }
        }
    }
    if valid_ending {
        Ok(())
    } else {
        Err("Label ends with illegal codepoint directionality".into())
    }
}

/// The `idna` package's `_unot`.
fn unot(cp: u32) -> String {
    format!("U+{cp:04X}")
}
