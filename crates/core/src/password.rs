//! Passwords: a secret that cannot be printed and is wiped from memory after use.

use std::fmt;

use zeroize::Zeroizing;

/// Bounds a password must respect, in Unicode scalar values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 100,
        }
    }
}

/// A password that satisfies a [`PasswordPolicy`]. `Debug` shows nothing of it, and its memory
/// is zeroed when it is dropped (hashing consumes it).
pub struct Password(Zeroizing<String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is shorter than {min} characters")]
    TooShort { min: usize },
    #[error("the password is longer than {max} characters")]
    TooLong { max: usize },
}

impl Password {
    /// Takes ownership of the raw string so that no copy outlives the check. Never trimmed.
    pub fn parse(raw: String, policy: PasswordPolicy) -> Result<Self, PasswordError> {
        let raw = Zeroizing::new(raw);
        let len = raw.chars().count();
        if len < policy.min_chars {
            return Err(PasswordError::TooShort {
                min: policy.min_chars,
            });
        }
        if len > policy.max_chars {
            return Err(PasswordError::TooLong {
                max: policy.max_chars,
            });
        }
        Ok(Self(raw))
    }

    /// The secret, for the hasher and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_printed() {
        let password = Password::parse("correct horse".into(), PasswordPolicy::default()).unwrap();
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
    }

    #[test]
    fn lengths_count_characters_and_spaces_are_kept() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            Password::parse("ééééééé".into(), policy).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        assert_eq!(
            Password::parse("  spaced  ".into(), policy)
                .unwrap()
                .expose(),
            "  spaced  "
        );
        assert_eq!(
            Password::parse("x".repeat(101), policy).unwrap_err(),
            PasswordError::TooLong { max: 100 }
        );
        assert!(Password::parse("x".repeat(100), policy).is_ok());
    }
}
