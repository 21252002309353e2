//! User names: trimmed, bounded, free of white space and control characters.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// A valid user name. Its [`Username::key`] is what must be unique within a realm.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username {
    value: String,
    key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the user name is empty")]
    Empty,
    #[error("the user name is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the user name contains white space or control characters")]
    InvalidCharacter,
}

impl Username {
    /// Parses a user name of at most `max_chars` Unicode scalar values (as sent, after
    /// trimming), then puts it in NFC.
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, UsernameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(UsernameError::Empty);
        }
        if trimmed.chars().count() > max_chars {
            return Err(UsernameError::TooLong { max: max_chars });
        }
        let value: String = trimmed.nfc().collect();
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UsernameError::InvalidCharacter);
        }
        let key = value.to_lowercase();
        Ok(Self { value, key })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The case-insensitive uniqueness key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?})", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_names_are_trimmed_and_keyed_case_insensitively() {
        let name = Username::parse("  Alice ", 50).unwrap();
        assert_eq!(name.as_str(), "Alice");
        assert_eq!(name.key(), "alice");
    }

    #[test]
    fn invalid_user_names_are_refused_with_their_reason() {
        let cases = [
            ("", UsernameError::Empty),
            ("   ", UsernameError::Empty),
            ("a b", UsernameError::InvalidCharacter),
            ("a\u{7}b", UsernameError::InvalidCharacter),
            ("a\tb", UsernameError::InvalidCharacter),
        ];
        for (raw, expected) in cases {
            assert_eq!(Username::parse(raw, 50), Err(expected), "{raw:?}");
        }
        assert_eq!(
            Username::parse(&"é".repeat(51), 50),
            Err(UsernameError::TooLong { max: 50 })
        );
        assert!(
            Username::parse(&"é".repeat(50), 50).is_ok(),
            "lengths count characters, not bytes"
        );
    }

    proptest! {
        #[test]
        fn valid_names_round_trip(raw in "[\\p{L}\\p{N}_.-]{1,16}") {
            let name = Username::parse(&raw, 50).unwrap();
            let again = Username::parse(name.as_str(), 50).unwrap();
            prop_assert_eq!(name, again);
        }
    }
}
