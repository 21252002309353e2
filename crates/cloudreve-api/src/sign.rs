//! Cloudreve's signed URLs: `base64url_padded(HMAC-SHA256(key, "<path>:<expires>")):<expires>`,
//! checked the way upstream checks them (each failure with its own code).

use base64::{engine::general_purpose::URL_SAFE, Engine};
use hmac::Mac;
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a `sign` was refused, in the order upstream checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignError {
    /// No `:`, nothing after the last one, or no sign at all.
    TimestampMissing,
    /// The expiry is not a number.
    BadTimestamp,
    /// The expiry is in the past.
    Expired,
    /// The MAC does not match.
    Invalid,
}

/// The HMAC key of signed links. `Debug` does not show it.
#[derive(Clone)]
pub struct Signer(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<key redacted>)")
    }
}

impl Signer {
    pub fn new(key: &[u8]) -> Self {
        Self(Zeroizing::new(key.to_vec()))
    }

    fn mac(&self, path: &str, expires: i64) -> HmacSha256 {
        // HMAC takes keys of any length, so this never fails.
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(format!("{path}:{expires}").as_bytes());
        mac
    }

    /// The `sign` of `path` valid until `expires` (Unix seconds).
    pub fn sign(&self, path: &str, expires: i64) -> String {
        let tag = self.mac(path, expires).finalize().into_bytes();
        format!("{}:{expires}", URL_SAFE.encode(tag))
    }

    /// Checks `sign` for `path` at `now` (Unix seconds); the MAC in constant time.
    pub fn check(&self, path: &str, sign: Option<&str>, now: i64) -> Result<(), SignError> {
        let sign = sign.unwrap_or_default();
        let Some((tag, _)) = sign.split_once(':') else {
            return Err(SignError::TimestampMissing);
        };
        let expires = sign.rsplit(':').next().unwrap_or_default();
        if expires.is_empty() {
            return Err(SignError::TimestampMissing);
        }
        let expires: i64 = expires.parse().map_err(|_| SignError::BadTimestamp)?;
        if expires != 0 && expires < now {
            return Err(SignError::Expired);
        }
        let tag = URL_SAFE.decode(tag).map_err(|_| SignError::Invalid)?;
        self.mac(path, expires)
            .verify_slice(&tag)
            .map_err(|_| SignError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> Signer {
        Signer::new(key.as_bytes())
    }

    #[test]
    fn the_upstream_example_signature_is_reproduced() {
        let sign = signer("test-secret-key").sign("/api/v4/user/activate/Y5Tb", 1_700_000_000);
        assert_eq!(
            sign,
            "GKqWa07nNUxs35zNS6Rd4QdNEJuQ5ckHA9oc1bDD8f8=:1700000000"
        );
    }

    #[test]
    fn each_bad_sign_fails_with_its_own_reason() {
        let s = signer("k");
        let path = "/api/v4/user/activate/abc";
        let good = s.sign(path, 2_000);
        assert_eq!(s.check(path, Some(&good), 1_000), Ok(()));
        assert_eq!(s.check(path, None, 1_000), Err(SignError::TimestampMissing));
        assert_eq!(
            s.check(path, Some(""), 1_000),
            Err(SignError::TimestampMissing)
        );
        assert_eq!(
            s.check(path, Some("abc"), 1_000),
            Err(SignError::TimestampMissing)
        );
        assert_eq!(
            s.check(path, Some("abc:"), 1_000),
            Err(SignError::TimestampMissing)
        );
        assert_eq!(
            s.check(path, Some("abc:x1"), 1_000),
            Err(SignError::BadTimestamp)
        );
        assert_eq!(s.check(path, Some(&good), 2_001), Err(SignError::Expired));
        let tampered = s.sign("/api/v4/user/activate/abd", 2_000);
        assert_eq!(
            s.check(path, Some(&tampered), 1_000),
            Err(SignError::Invalid)
        );
        let moved = good.replace(":2000", ":2001");
        assert_eq!(s.check(path, Some(&moved), 1_000), Err(SignError::Invalid));
        assert_eq!(
            s.check(path, Some("!!:2000"), 1_000),
            Err(SignError::Invalid)
        );
    }
}
