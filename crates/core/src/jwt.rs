//! JWT access and refresh tokens: access tokens are stateless (valid until `exp`, 60 s
//! leeway); refresh tokens are stored only as their SHA-256 and form one *family* per login.
//! A refresh token is spent when rotated; presenting a spent or revoked one again revokes its
//! whole family (theft detection), so of N concurrent rotations of one token exactly one wins
//! and the family ends revoked.
//!
//! ```
//! use signup_core::jwt::JwtKeys;
//!
//! let keys = JwtKeys::hs256(b"a long, random, configured secret").unwrap();
//! assert_eq!(format!("{keys:?}"), "JwtKeys { algorithm: HS256, key: \"<redacted>\" }");
//! assert!(JwtKeys::hs256(b"").is_err());
//! ```

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::{
    account::AccountId,
    config::TokenSettings,
    store::{now_millis, store_errors_as_overload, Store},
    tokens::digest,
};

/// Clock skew tolerated on `exp` when verifying a token.
pub const LEEWAY_SECS: u64 = 60;

/// The keys tokens are signed and verified with.
///
/// HS256 only for now. EdDSA is the seam: a constructor such as
/// `ed25519(private_pem, public_pem)` setting `algorithm` to [`Algorithm::EdDSA`]; signing and
/// verification only ever read `self.algorithm`, so nothing else changes.
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtKeyError {
    #[error("the JWT signing secret is empty")]
    EmptySecret,
}

impl JwtKeys {
    /// HMAC-SHA-256 with a shared secret: the UTF-8 bytes of `tokens.secret`, or a generated
    /// secret persisted by the caller.
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtKeyError> {
        if secret.is_empty() {
            return Err(JwtKeyError::EmptySecret);
        }
        Ok(Self {
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, &self.encoding)
    }

    /// Signature (only `self.algorithm`: `alg: none` and every other algorithm are refused),
    /// `exp` with [`LEEWAY_SECS`], then the token's `type`.
    fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, InvalidToken> {
        let mut validation = Validation::new(self.algorithm);
        validation.algorithms = vec![self.algorithm];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => InvalidToken::Expired,
                ErrorKind::InvalidSignature => InvalidToken::BadSignature,
                ErrorKind::InvalidAlgorithm => InvalidToken::WrongAlgorithm,
                _ => InvalidToken::Malformed,
            })?
            .claims;
        if claims.kind != expected {
            return Err(InvalidToken::WrongType {
                expected,
                found: claims.kind,
            });
        }
        Ok(claims)
    }
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// What a token is for: an access token never serves as a refresh token, nor the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of both kinds of token, as they travel.
///
/// Access tokens carry `fam` too, so a logout with an access token revokes that login's
/// refresh tokens and no other login's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id, formatted by the caller.
    pub sub: String,
    /// Same as `sub` (some contracts name it so).
    pub user_id: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Random and unique per token.
    pub jti: String,
    #[serde(rename = "type")]
    pub kind: TokenKind,
    /// The login (refresh-token family) the token belongs to.
    pub fam: String,
}

/// Claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims(Claims);

/// Claims of a verified refresh token (signature, `exp` and `type` only: whether it is spent
/// is known to [`JwtService::rotate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaims(Claims);

impl std::ops::Deref for AccessClaims {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl std::ops::Deref for RefreshClaims {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl AccessClaims {
    pub fn into_inner(self) -> Claims {
        self.0
    }
}

impl RefreshClaims {
    pub fn into_inner(self) -> Claims {
        self.0
    }
}

/// A freshly issued pair. Both tokens are bearer secrets: `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    /// Lifetime of the access token, in seconds.
    pub access_expires_in: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &"<redacted>")
            .field("refresh", &"<redacted>")
            .field("access_expires_in", &self.access_expires_in)
            .finish()
    }
}

/// Why a token was refused: for the log; every case is "unauthenticated" to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("the token is not a well-formed JWT with the expected claims")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token is signed with an algorithm this service does not accept")]
    WrongAlgorithm,
    #[error("the token has expired")]
    Expired,
    #[error("a {found} token was presented where an {expected} token is required")]
    WrongType {
        expected: TokenKind,
        found: TokenKind,
    },
    #[error("the refresh token is unknown or has expired")]
    NotStored,
}

/// What verifying, rotating or revoking can end in besides success.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is invalid")]
    Invalid(#[source] InvalidToken),
    /// A spent or revoked refresh token came back: its whole family is now revoked.
    #[error("a spent or revoked refresh token was presented again")]
    Reused,
    #[error("the service is overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("the service is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl From<InvalidToken> for AuthError {
    fn from(reason: InvalidToken) -> Self {
        Self::Invalid(reason)
    }
}

store_errors_as_overload!(AuthError);

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Self::Unavailable(anyhow::Error::new(e).context("could not sign a token"))
    }
}

/// How long tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access: Duration,
    pub refresh: Duration,
}

impl From<&TokenSettings> for Lifetimes {
    fn from(settings: &TokenSettings) -> Self {
        Self {
            access: Duration::from_secs(settings.access_ttl_secs),
            refresh: Duration::from_secs(settings.refresh_ttl_secs),
        }
    }
}

/// Issues, verifies, rotates and revokes JWTs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JwtService {
    store: Store,
    keys: Arc<JwtKeys>,
    lifetimes: Lifetimes,
}

/// A pair signed but not yet stored.
struct Minted {
    pair: TokenPair,
    refresh_hash: String,
    refresh_expires_at: i64,
}

impl JwtService {
    pub fn new(store: Store, keys: JwtKeys, lifetimes: Lifetimes) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            lifetimes,
        }
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// Starts a login: a new family, an access token and its first refresh token (stored as
    /// its digest). `subject` is the account id as the caller's contract spells it; it goes
    /// into `sub` and `user_id`. The account must exist (its tokens die with it).
    #[tracing::instrument(name = "Issuing a token pair", skip_all, fields(account = %account))]
    pub async fn issue_pair(
        &self,
        account: AccountId,
        subject: &str,
    ) -> Result<TokenPair, AuthError> {
        let family = Uuid::new_v4().to_string();
        let now = now_millis();
        let minted = self.mint(subject, &family, now)?;
        let mut tx = self.store.begin_write().await?;
        insert_refresh(&mut tx.tx, &minted, &family, account, now).await?;
        tx.commit().await?;
        Ok(minted.pair)
    }

    /// A valid access token's claims; a refresh token presented here is refused.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, AuthError> {
        Ok(AccessClaims(self.keys.verify(token, TokenKind::Access)?))
    }

    /// A refresh token's claims when its signature, `exp` and `type` hold (whether it is
    /// spent is only known to [`Self::rotate`]); e.g. for a logout with the refresh cookie.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, AuthError> {
        Ok(RefreshClaims(self.keys.verify(token, TokenKind::Refresh)?))
    }

    /// Spends a refresh token and issues the next pair of its family, in one transaction.
    /// A spent or revoked token revokes its family and answers [`AuthError::Reused`].
    #[tracing::instrument(name = "Rotating a refresh token", skip_all)]
    pub async fn rotate(&self, refresh: &str) -> Result<(AccountId, TokenPair), AuthError> {
        let claims = self.keys.verify(refresh, TokenKind::Refresh)?;
        let token_hash = digest(refresh);
        let now = now_millis();
        let minted = self.mint(&claims.sub, &claims.fam, now)?;

        let mut tx = self.store.begin_write().await?;
        // One statement decides the race: of concurrent rotations only one sees the token
        // unspent; the others wait for its commit and then find it spent.
        let won = sqlx::query(
            "UPDATE refresh_tokens SET spent_at = $1 \
             WHERE token_hash = $2 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
             RETURNING account_id, family_id",
        )
        .bind(now)
        .bind(&token_hash)
        .fetch_optional(&mut *tx.tx)
        .await?;

        if let Some(row) = won {
            let account: String = row.try_get("account_id")?;
            let family: String = row.try_get("family_id")?;
            let account = parse_account(&account)?;
            insert_refresh(&mut tx.tx, &minted, &family, account, now).await?;
            tx.commit().await?;
            return Ok((account, minted.pair));
        }

        let stored = sqlx::query(
            "SELECT family_id, account_id, spent_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(stored) = stored else {
            return Err(InvalidToken::NotStored.into());
        };
        let spent: Option<i64> = stored.try_get("spent_at")?;
        let revoked: Option<i64> = stored.try_get("revoked_at")?;
        if spent.is_none() && revoked.is_none() {
            // Unspent, so it failed on `expires_at`: expired, not reused.
            return Err(InvalidToken::NotStored.into());
        }
        let family: String = stored.try_get("family_id")?;
        let account: String = stored.try_get("account_id")?;
        let revoked_now = revoke_family(&mut tx.tx, &family, now).await?;
        tx.commit().await?;
        tracing::warn!(
            %family,
            %account,
            revoked_now,
            "A spent or revoked refresh token was presented again: its family is revoked"
        );
        Err(AuthError::Reused)
    }

    /// Logout: revokes every refresh token of the login these claims belong to (access or
    /// refresh claims alike), and no other login's. Returns how many tokens it revoked.
    #[tracing::instrument(name = "Revoking a login's refresh tokens", skip_all, fields(family = %claims.fam))]
    pub async fn revoke_family_of(&self, claims: &Claims) -> Result<u64, AuthError> {
        let mut tx = self.store.begin_write().await?;
        let revoked = revoke_family(&mut tx.tx, &claims.fam, now_millis()).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Signs an access and a refresh token of `family`, issued at `now_ms`.
    fn mint(&self, subject: &str, family: &str, now_ms: i64) -> Result<Minted, AuthError> {
        let iat = now_ms.div_euclid(1000);
        let claims = |kind: TokenKind, ttl: Duration| Claims {
            sub: subject.to_string(),
            user_id: subject.to_string(),
            iat,
            exp: iat.saturating_add(secs_i64(ttl)),
            jti: Uuid::new_v4().to_string(),
            kind,
            fam: family.to_string(),
        };
        let access = self
            .keys
            .sign(&claims(TokenKind::Access, self.lifetimes.access))?;
        let refresh = self
            .keys
            .sign(&claims(TokenKind::Refresh, self.lifetimes.refresh))?;
        let refresh_ttl_ms = i64::try_from(self.lifetimes.refresh.as_millis()).unwrap_or(i64::MAX);
        Ok(Minted {
            refresh_hash: digest(&refresh),
            refresh_expires_at: now_ms.saturating_add(refresh_ttl_ms),
            pair: TokenPair {
                access,
                refresh,
                access_expires_in: self.lifetimes.access.as_secs(),
            },
        })
    }
}

fn secs_i64(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)
}

fn parse_account(raw: &str) -> Result<AccountId, AuthError> {
    raw.parse().map_err(|e| {
        AuthError::Unavailable(
            anyhow::Error::new(e).context(format!("a stored account id is not a UUID: {raw:?}")),
        )
    })
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    minted: &Minted,
    family: &str,
    account: AccountId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, account_id, expires_at, spent_at, revoked_at, created_at) \
         VALUES ($1, $2, $3, $4, NULL, NULL, $5)",
    )
    .bind(&minted.refresh_hash)
    .bind(family)
    .bind(account.to_string())
    .bind(minted.refresh_expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke_family(
    conn: &mut AnyConnection,
    family: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    use super::*;

    const SECRET: &[u8] = b"unit-test secret, 32 bytes long!";

    fn keys() -> JwtKeys {
        JwtKeys::hs256(SECRET).unwrap()
    }

    fn claims(kind: TokenKind, iat: i64, exp: i64) -> Claims {
        Claims {
            sub: "0190b7a4c2d07c3a9d1e2f3a4b5c6d7e".into(),
            user_id: "0190b7a4c2d07c3a9d1e2f3a4b5c6d7e".into(),
            iat,
            exp,
            jti: Uuid::new_v4().to_string(),
            kind,
            fam: Uuid::new_v4().to_string(),
        }
    }

    fn now_secs() -> i64 {
        now_millis() / 1000
    }

    fn payload(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn tokens_carry_the_contract_claims() {
        let keys = keys();
        let now = now_secs();
        let issued = claims(TokenKind::Access, now, now + 900);
        let token = keys.sign(&issued).unwrap();

        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "HS256");
        let body = payload(&token);
        assert_eq!(body["sub"], issued.sub);
        assert_eq!(body["user_id"], issued.sub);
        assert_eq!(body["iat"], now);
        assert_eq!(body["exp"], now + 900);
        assert_eq!(body["jti"], issued.jti);
        assert_eq!(body["type"], "access");
        assert_eq!(body["fam"], issued.fam);

        assert_eq!(keys.verify(&token, TokenKind::Access), Ok(issued));
    }

    #[test]
    fn every_token_has_its_own_jti() {
        let a = claims(TokenKind::Access, 0, 1);
        let b = claims(TokenKind::Access, 0, 1);
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn alg_none_is_refused() {
        let now = now_secs();
        let body = serde_json::to_vec(&claims(TokenKind::Access, now, now + 900)).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(body));
        assert!(keys().verify(&unsigned, TokenKind::Access).is_err());
    }

    #[test]
    fn another_hmac_algorithm_is_refused() {
        let now = now_secs();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(TokenKind::Access, now, now + 900),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            keys().verify(&token, TokenKind::Access),
            Err(InvalidToken::WrongAlgorithm)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let now = now_secs();
        let other = JwtKeys::hs256(b"some other secret of 32 bytes..!").unwrap();
        let token = other
            .sign(&claims(TokenKind::Access, now, now + 900))
            .unwrap();
        assert_eq!(
            keys().verify(&token, TokenKind::Access),
            Err(InvalidToken::BadSignature)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let keys = keys();
        let now = now_secs();
        let token = keys
            .sign(&claims(TokenKind::Access, now, now + 900))
            .unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut forged = claims(TokenKind::Access, now, now + 900);
        forged.sub = "someone-else".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            keys.verify(&parts.join("."), TokenKind::Access),
            Err(InvalidToken::BadSignature)
        );
    }

    #[test]
    fn expiry_is_enforced_beyond_the_leeway_only() {
        let keys = keys();
        let now = now_secs();
        let within = keys
            .sign(&claims(TokenKind::Access, now - 1000, now - 30))
            .unwrap();
        assert!(keys.verify(&within, TokenKind::Access).is_ok());
        let beyond = keys
            .sign(&claims(TokenKind::Access, now - 1000, now - 120))
            .unwrap();
        assert_eq!(
            keys.verify(&beyond, TokenKind::Access),
            Err(InvalidToken::Expired)
        );
    }

    #[test]
    fn a_refresh_token_is_not_an_access_token_nor_the_reverse() {
        let keys = keys();
        let now = now_secs();
        let refresh = keys
            .sign(&claims(TokenKind::Refresh, now, now + 900))
            .unwrap();
        assert_eq!(
            keys.verify(&refresh, TokenKind::Access),
            Err(InvalidToken::WrongType {
                expected: TokenKind::Access,
                found: TokenKind::Refresh
            })
        );
        let access = keys
            .sign(&claims(TokenKind::Access, now, now + 900))
            .unwrap();
        assert!(matches!(
            keys.verify(&access, TokenKind::Refresh),
            Err(InvalidToken::WrongType { .. })
        ));
    }

    #[test]
    fn unknown_types_and_missing_claims_are_malformed() {
        let keys = keys();
        let now = now_secs();
        let mut body = serde_json::to_value(claims(TokenKind::Access, now, now + 900)).unwrap();
        body["type"] = "id".into();
        let token = jsonwebtoken::encode(&Header::default(), &body, &keys.encoding).unwrap();
        assert_eq!(
            keys.verify(&token, TokenKind::Access),
            Err(InvalidToken::Malformed)
        );
        let token = jsonwebtoken::encode(
            &Header::default(),
            &serde_json::json!({"sub": "x", "exp": now + 900}),
            &keys.encoding,
        )
        .unwrap();
        assert!(keys.verify(&token, TokenKind::Access).is_err());
        assert_eq!(
            keys.verify("not.a.jwt", TokenKind::Access),
            Err(InvalidToken::Malformed)
        );
        assert_eq!(
            keys.verify("", TokenKind::Access),
            Err(InvalidToken::Malformed)
        );
    }

    #[test]
    fn keys_and_pairs_never_print_their_secrets() {
        let keys = keys();
        let printed = format!("{keys:?}");
        assert!(!printed.contains("unit-test"), "{printed}");
        let pair = TokenPair {
            access: "aaa.bbb.ccc".into(),
            refresh: "ddd.eee.fff".into(),
            access_expires_in: 900,
        };
        let printed = format!("{pair:?}");
        assert!(
            !printed.contains("bbb") && !printed.contains("eee"),
            "{printed}"
        );
        assert!(printed.contains("900"));
        assert_eq!(JwtKeys::hs256(b"").err(), Some(JwtKeyError::EmptySecret));
    }
}
