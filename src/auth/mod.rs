//! Authentication and authorisation: API-key format and hashing, bearer
//! parsing, and the caller's [`Principal`]. Pure; key lookup goes through
//! [`crate::ports::MetaStore`].

use crate::error::ApiError;
use crate::http::Request;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest bearer token we will even hash; longer ones are refused outright.
const MAX_TOKEN_LEN: usize = 512;
/// Characters of the key kept in clear for display (`qk_test_` + 6).
const DISPLAY_PREFIX_LEN: usize = 14;
const KEY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in the tenant, including key management.
    Admin,
    /// Documents and jobs, not keys.
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A stored API key. The secret itself is never stored, only its HMAC.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The first characters of the secret, for display (`qk_test_ab12cd`).
    pub prefix: String,
    /// Hex HMAC-SHA256 of the full secret under the server's pepper.
    pub hash: String,
    pub role: Role,
    pub created_at_ms: u64,
    pub revoked_at_ms: Option<u64>,
    /// Per-key limits overriding the defaults, by route class.
    pub rate_limits: Vec<crate::ratelimit::Policy>,
    /// The tenant's plan (selects plan limits and budgets).
    pub plan: String,
    /// False when the tenant is suspended: all its keys are refused.
    pub tenant_active: bool,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub tenant_id: String,
    pub key_id: String,
    pub role: Role,
    pub rate_limits: Vec<crate::ratelimit::Policy>,
    pub plan: String,
}

impl Principal {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Member => Err(ApiError::Forbidden("this action needs an admin key".into())),
        }
    }
}

/// Hashes a presented secret the way it is stored.
pub fn hash_key(pepper: &str, secret: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(secret.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Makes a new secret `qk_<env>_<32 base32 chars>` (160 random bits) from
/// 20 random bytes, and returns (secret, display prefix).
pub fn make_secret(environment: &str, random: [u8; 20]) -> (String, String) {
    let mut secret = format!("qk_{environment}_");
    let mut acc: u64 = 0;
    let mut bits = 0;
    for b in random {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            secret.push(KEY_ALPHABET[((acc >> bits) & 0x1F) as usize] as char);
        }
    }
    let prefix: String = secret.chars().take(DISPLAY_PREFIX_LEN).collect();
    (secret, prefix)
}

/// Extracts the bearer token. Refuses, without saying why in detail,
/// a missing header, repeated headers, other schemes and oversized tokens.
pub fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let values = req.header_all("authorization");
    let [value] = values.as_slice() else {
        return Err(ApiError::Unauthorized);
    };
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized)?;
    let token = token.trim();
    // The runtime folds repeated headers into one, comma-joined: a token
    // with a comma or space inside is two credentials, refused.
    let folded = token.contains([',', ' ', '\t']);
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || folded
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(token)
}

/// Whether a token has the shape of one of our API keys.
pub fn is_api_key(token: &str) -> bool {
    token.starts_with("qk_")
}

/// Decides whether a stored key (found by hash) admits the caller.
pub fn admit(key: Option<ApiKey>) -> Result<Principal, ApiError> {
    match key {
        Some(k) if k.revoked_at_ms.is_none() && !k.tenant_active => Err(ApiError::TenantSuspended),
        Some(k) if k.revoked_at_ms.is_none() => Ok(Principal {
            tenant_id: k.tenant_id,
            key_id: k.id,
            role: k.role,
            rate_limits: k.rate_limits,
            plan: k.plan,
        }),
        _ => Err(ApiError::Unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn secrets_carry_prefix_environment_and_160_bits() {
        let (secret, prefix) = make_secret("live", [0xAB; 20]);
        assert!(secret.starts_with("qk_live_"));
        assert_eq!(secret.len(), "qk_live_".len() + 32);
        assert_eq!(prefix, &secret[..14]);
    }

    #[test]
    fn hash_is_hmac_sha256_hex_and_depends_on_pepper() {
        // Reference value from `openssl dgst -sha256 -hmac pepper-1234567890`.
        let h = hash_key("pepper-1234567890", "qk_test_abc");
        assert_eq!(
            h,
            "b0ac51e22176069238569a002d136819f1a878108e56c455dcc8dcc8d8cc1893"
        );
        assert_ne!(h, hash_key("another-pepper-000", "qk_test_abc"));
    }

    #[test]
    fn bearer_parsing_refuses_missing_repeated_and_foreign_schemes() {
        let base = Request::new(Method::Get, "/");
        assert_eq!(bearer_token(&base), Err(ApiError::Unauthorized));
        let ok = base
            .clone()
            .with_header("Authorization", "Bearer qk_test_x");
        assert_eq!(bearer_token(&ok), Ok("qk_test_x"));
        let lower = base
            .clone()
            .with_header("authorization", "bearer qk_test_x");
        assert_eq!(bearer_token(&lower), Ok("qk_test_x"));
        let basic = base.clone().with_header("Authorization", "Basic dXNlcjpw");
        assert_eq!(bearer_token(&basic), Err(ApiError::Unauthorized));
        let twice = ok.clone().with_header("Authorization", "Bearer qk_test_y");
        assert_eq!(bearer_token(&twice), Err(ApiError::Unauthorized));
        let folded = base
            .clone()
            .with_header("Authorization", "Bearer qk_test_x, Bearer qk_test_y");
        assert_eq!(bearer_token(&folded), Err(ApiError::Unauthorized));
        let huge = base.with_header("Authorization", &format!("Bearer {}", "a".repeat(600)));
        assert_eq!(bearer_token(&huge), Err(ApiError::Unauthorized));
    }

    #[test]
    fn revoked_key_is_not_admitted() {
        let key = ApiKey {
            id: "key_1".into(),
            tenant_id: "ten_1".into(),
            name: "k".into(),
            prefix: "qk_test_abcdef".into(),
            hash: "h".into(),
            role: Role::Member,
            created_at_ms: 1,
            revoked_at_ms: Some(2),
            rate_limits: vec![],
            plan: "standard".into(),
            tenant_active: true,
        };
        assert_eq!(admit(Some(key.clone())), Err(ApiError::Unauthorized));
        let live = ApiKey {
            revoked_at_ms: None,
            ..key
        };
        assert_eq!(admit(Some(live)).unwrap().tenant_id, "ten_1");
    }
}
