//! JWTs from a tenant's identity provider. Pure: the caller supplies the
//! tenant's configuration, its keys (inline or a fetched JWKS), the time,
//! and a [`SignatureCheck`] for the public-key arithmetic (WebCrypto at
//! the edge, so the API worker's module carries no RSA or curve code).
//!
//! Every failure is a [`JwtFailure`] kept for the audit log; the caller of
//! the API only ever sees a bare 401.
//!
//! What is refused, and where:
//! - structure (3 segments, sizes, base64url, UTF-8, JSON objects) and any
//!   `crit` header: [`peek`];
//! - an `alg` outside the tenant's allow-list (so `none`, in any case, is
//!   never accepted), a key of the wrong type for the `alg`, an unknown or
//!   malformed `kid`, an RSA modulus under 2048 bits: [`verify`] and
//!   [`keys`]. Keys named in the token (`jwk`, `jku`, `x5u`, `x5c`) are
//!   never read: only the tenant's configured keys are used, and HS256 only
//!   ever with the tenant's shared secret, which is what makes the
//!   RS256→HS256 confusion attack fail;
//! - signatures: HS256 here (constant-time), the others by the
//!   [`SignatureCheck`], after their length is checked here;
//! - `exp` (required), `nbf`, `iat`, `iss`, `aud`, exact string comparison:
//!   [`claims`].

mod claims;
mod config;
pub mod keys;
#[cfg(not(target_arch = "wasm32"))]
mod native;

use super::{Role, Scope};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
pub use config::{ClaimNames, IdpConfig, RequiredClaim, ALGORITHMS};
use hmac::{Hmac, Mac};
pub use keys::{jwks_keys, PublicKey, SignatureCheck};
#[cfg(not(target_arch = "wasm32"))]
pub use native::PureSignatures;

use serde_json::{Map, Value};
use sha2::Sha256;

const MAX_HEADER_CHARS: usize = 1024;
const MAX_CLAIMS_CHARS: usize = 6144;
/// An RSA-8192 signature, base64url.
const MAX_SIGNATURE_CHARS: usize = 1366;
/// Keys tried for a token without `kid`.
const MAX_KEYS_TRIED: usize = 4;

/// Why a token was refused (for the audit log, never for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtFailure {
    Malformed,
    CriticalHeader,
    AlgorithmNotAllowed,
    UnknownKey,
    BadSignature,
    MissingExpiry,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    RequiredClaim,
    NoSubject,
}

impl JwtFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            JwtFailure::Malformed => "jwt_malformed",
            JwtFailure::CriticalHeader => "jwt_crit_header",
            JwtFailure::AlgorithmNotAllowed => "jwt_algorithm_not_allowed",
            JwtFailure::UnknownKey => "jwt_unknown_key",
            JwtFailure::BadSignature => "jwt_bad_signature",
            JwtFailure::MissingExpiry => "jwt_missing_exp",
            JwtFailure::Expired => "jwt_expired",
            JwtFailure::NotYetValid => "jwt_not_yet_valid",
            JwtFailure::WrongIssuer => "jwt_wrong_issuer",
            JwtFailure::WrongAudience => "jwt_wrong_audience",
            JwtFailure::RequiredClaim => "jwt_required_claim",
            JwtFailure::NoSubject => "jwt_no_subject",
        }
    }
}

/// What an unverified token says about itself: enough to find the tenant
/// whose keys must then verify it, and what they must verify.
#[derive(Debug, Clone, PartialEq)]
pub struct Peek {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    /// `header.claims`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl Peek {
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}

fn decode_object(segment: &str, max: usize) -> Result<Map<String, Value>, JwtFailure> {
    if segment.is_empty() || segment.len() > max {
        return Err(JwtFailure::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtFailure::Malformed)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| JwtFailure::Malformed)?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtFailure::Malformed),
    }
}

/// Whether a token looks like a JWT at all (three dot-separated parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Parses a token's structure without trusting it.
pub fn peek(token: &str) -> Result<Peek, JwtFailure> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(JwtFailure::Malformed);
    };
    if signature.is_empty() || signature.len() > MAX_SIGNATURE_CHARS {
        return Err(JwtFailure::Malformed);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtFailure::Malformed)?;
    let signing_input = format!("{header}.{claims}");
    let header = decode_object(header, MAX_HEADER_CHARS)?;
    // We understand no critical extension, so any `crit` must be refused
    // (RFC 7515 §4.1.11).
    if header.contains_key("crit") {
        return Err(JwtFailure::CriticalHeader);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtFailure::Malformed)?
        .to_string();
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JwtFailure::Malformed),
    };
    let claims = decode_object(claims, MAX_CLAIMS_CHARS)?;
    Ok(Peek {
        alg,
        kid,
        claims,
        signing_input,
        signature,
    })
}

/// A signed-in identity, from verified claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub subject: String,
    pub email: Option<String>,
    pub role: Role,
    pub scopes: Vec<Scope>,
}

fn hs256_valid(secret: &str, peeked: &Peek) -> bool {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(peeked.signing_input.as_bytes());
    mac.verify_slice(&peeked.signature).is_ok()
}

/// Tries the configured keys that fit the token's `alg` (and `kid`): at
/// most [`MAX_KEYS_TRIED`] of them, so a token without `kid` cannot make
/// us check it against a whole JWKS.
async fn public_key_valid<S: SignatureCheck>(
    signatures: &S,
    peeked: &Peek,
    keys: &[Value],
) -> Result<(), JwtFailure> {
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|k| keys::fits(k, &peeked.alg, peeked.kid.as_deref()))
        .take(MAX_KEYS_TRIED)
        .collect();
    if candidates.is_empty() {
        return Err(JwtFailure::UnknownKey);
    }
    for jwk in candidates {
        let Some(key) = PublicKey::parse(jwk, &peeked.alg) else {
            continue;
        };
        if peeked.signature.len() == key.signature_len()
            && signatures
                .verify(&key, peeked.signing_input.as_bytes(), &peeked.signature)
                .await
        {
            return Ok(());
        }
    }
    Err(JwtFailure::BadSignature)
}

/// Verifies a peeked token against a tenant's configuration and public
/// keys (inline or fetched; `keys` is ignored for HS256).
pub async fn verify<S: SignatureCheck>(
    signatures: &S,
    peeked: &Peek,
    cfg: &IdpConfig,
    keys: &[Value],
    now_ms: u64,
) -> Result<Verified, JwtFailure> {
    let alg = peeked.alg.as_str();
    if !cfg.algorithms.iter().any(|a| a == alg) {
        return Err(JwtFailure::AlgorithmNotAllowed);
    }
    if peeked.kid.as_deref().is_some_and(|k| !keys::valid_kid(k)) {
        return Err(JwtFailure::UnknownKey);
    }
    if alg == "HS256" {
        let secret = cfg.hs256_secret.as_deref().ok_or(JwtFailure::UnknownKey)?;
        if !hs256_valid(secret, peeked) {
            return Err(JwtFailure::BadSignature);
        }
    } else {
        public_key_valid(signatures, peeked, keys).await?;
    }
    claims::check(&peeked.claims, cfg, now_ms)
}

#[cfg(test)]
mod tests;
