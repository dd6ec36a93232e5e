//! Authentication and authorisation: API-key format and hashing, bearer
//! parsing, and the caller's [`Principal`]. Pure; key lookup goes through
//! [`crate::ports::MetaStore`].

use crate::error::ApiError;
use crate::http::Request;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest bearer token we will even look at (a JWT with an RSA-4096
/// signature and rich claims fits); longer ones are refused outright.
const MAX_TOKEN_LEN: usize = 8192;
/// Characters of the key kept in clear for display (`qk_test_` + 6).
const DISPLAY_PREFIX_LEN: usize = 14;
const KEY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

pub mod access;
pub mod cache;
pub mod jwt;
pub mod scope;

pub use scope::Scope;

/// A role in a tenant, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Can read no documents but those shared with it; no writes.
    Viewer,
    /// Own documents plus those shared with it; jobs on what it can read.
    Member,
    /// Every document of the tenant; users, keys, audit log, identity provider.
    Admin,
    /// As admin, and may also grant the owner role.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The scopes this role grants; a key's scopes are a subset of them.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Owner | Role::Admin => &Scope::ALL,
            Role::Member => &[
                Scope::DocumentsRead,
                Scope::DocumentsWrite,
                Scope::JobsRead,
                Scope::JobsWrite,
            ],
            Role::Viewer => &[Scope::DocumentsRead, Scope::JobsRead],
        }
    }

    /// Whether this role sees every document of the tenant.
    pub fn sees_all_documents(self) -> bool {
        self >= Role::Admin
    }
}

/// Parses a space-separated scope list; unknown names are an error.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, String> {
    let mut out: Vec<Scope> = list
        .split_whitespace()
        .map(|s| Scope::parse(s).ok_or_else(|| format!("unknown scope '{s}'")))
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Renders scopes as stored and shown (space-separated).
pub fn scopes_string(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stored API key. The secret itself is never stored, only its HMAC.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    /// The user the key acts for; `None` for a service key of the tenant.
    pub user_id: Option<String>,
    pub name: String,
    /// The first characters of the secret, for display (`qk_test_ab12cd`).
    pub prefix: String,
    /// Hex HMAC-SHA256 of the full secret under the server's pepper.
    pub hash: String,
    pub role: Role,
    /// Explicit scopes; `None` means all of the role's scopes.
    pub scopes: Option<Vec<Scope>>,
    pub created_at_ms: u64,
    pub expires_at_ms: Option<u64>,
    pub last_used_at_ms: Option<u64>,
    pub revoked_at_ms: Option<u64>,
    /// The key that replaced this one by rotation.
    pub rotated_to: Option<String>,
    /// Per-key limits overriding the defaults, by route class.
    pub rate_limits: Vec<crate::ratelimit::Policy>,
    /// The tenant's plan (selects plan limits and budgets).
    pub plan: String,
    /// False when the tenant is suspended: all its keys are refused.
    pub tenant_active: bool,
    /// The tenant's document retention, when it sets its own.
    pub tenant_retention_days: Option<u64>,
    /// The tenant's database shard.
    pub tenant_shard: u32,
    /// True while the tenant moves to another shard: its writes are
    /// refused until the move ends.
    pub tenant_moving: bool,
}

impl ApiKey {
    /// The scopes the key carries (explicit ones, else its role's).
    pub fn effective_scopes(&self) -> Vec<Scope> {
        match &self.scopes {
            Some(s) => s.clone(),
            None => self.role.scopes().to_vec(),
        }
    }

    /// Whether the key is usable at `now_ms` (ignoring tenant and user).
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|t| now_ms < t)
    }
}

/// A user of a tenant, who may hold keys and sign in through the tenant's
/// identity provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub role: Role,
    pub status: String,
    #[serde(skip)]
    pub created_at_ms: u64,
    #[serde(skip)]
    pub updated_at_ms: u64,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    ApiKey(String),
    Jwt,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub tenant_id: String,
    /// The subject rate limits and per-key usage are counted against: the
    /// key id, or `jwt:<user id>` for a signed-in user.
    pub key_id: String,
    pub user_id: Option<String>,
    pub role: Role,
    pub scopes: Vec<Scope>,
    pub credential: Credential,
    pub rate_limits: Vec<crate::ratelimit::Policy>,
    pub plan: String,
    /// The tenant's document retention, when it sets its own (read with
    /// the credential, so an upload need not read the tenant again).
    pub retention_days: Option<u64>,
    /// The tenant's database shard: every tenant query of the request
    /// goes there.
    pub shard: u32,
    /// The tenant is moving between shards: writes are refused.
    pub frozen: bool,
}

impl Principal {
    /// Refuses with 403 unless the credential carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this action needs the '{}' scope",
                scope.as_str()
            )))
        }
    }

    /// The owner tag of what this caller creates: the user when there is
    /// one, else the (service) key.
    pub fn owner_tag(&self) -> String {
        match (&self.user_id, &self.credential) {
            (Some(u), _) => format!("user:{u}"),
            (None, Credential::ApiKey(k)) => format!("key:{k}"),
            (None, Credential::Jwt) => format!("key:{}", self.key_id),
        }
    }

    /// Who acted, as written in the audit log.
    pub fn actor(&self) -> String {
        self.owner_tag()
    }

    /// The credential used, as written in the audit log.
    pub fn via(&self) -> String {
        match &self.credential {
            Credential::ApiKey(k) => format!("key:{k}"),
            Credential::Jwt => "jwt".into(),
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

/// Why a credential was refused (kept for the audit log; the caller
/// only ever sees a bare 401 or, for a suspended tenant, 403).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    UserDisabled,
    TenantSuspended,
}

impl Refusal {
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown_credential",
            Refusal::Revoked => "key_revoked",
            Refusal::Expired => "key_expired",
            Refusal::UserDisabled => "user_disabled",
            Refusal::TenantSuspended => "tenant_suspended",
        }
    }

    pub fn to_error(&self) -> ApiError {
        match self {
            Refusal::TenantSuspended => ApiError::TenantSuspended,
            _ => ApiError::Unauthorized,
        }
    }
}

/// Decides whether a stored key (found by hash), and the user it belongs
/// to if any, admit the caller at `now_ms`. A user-bound key never has more
/// power than its user: the role is the lower of the two.
pub fn admit(key: &ApiKey, user: Option<&User>, now_ms: u64) -> Result<Principal, Refusal> {
    if key.revoked_at_ms.is_some() {
        return Err(Refusal::Revoked);
    }
    if !key.is_live(now_ms) {
        return Err(Refusal::Expired);
    }
    if !key.tenant_active {
        return Err(Refusal::TenantSuspended);
    }
    let mut role = key.role;
    if key.user_id.is_some() {
        match user {
            Some(u) if u.is_active() && u.tenant_id == key.tenant_id => role = role.min(u.role),
            _ => return Err(Refusal::UserDisabled),
        }
    }
    let scopes = key
        .effective_scopes()
        .into_iter()
        .filter(|s| role.scopes().contains(s))
        .collect();
    Ok(Principal {
        tenant_id: key.tenant_id.clone(),
        key_id: key.id.clone(),
        user_id: key.user_id.clone(),
        role,
        scopes,
        credential: Credential::ApiKey(key.id.clone()),
        rate_limits: key.rate_limits.clone(),
        plan: key.plan.clone(),
        retention_days: key.tenant_retention_days,
        shard: key.tenant_shard,
        frozen: key.tenant_moving,
    })
}

/// Query parameters that would carry a credential in the URL, where it
/// leaks into logs and browser history. Their presence alone is refused.
pub fn token_in_query(req: &Request) -> bool {
    ["access_token", "api_key", "token", "key"]
        .iter()
        .any(|p| req.query_param(p).is_some())
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
        let huge = base.with_header("Authorization", &format!("Bearer {}", "a".repeat(9000)));
        assert_eq!(bearer_token(&huge), Err(ApiError::Unauthorized));
    }

    fn key(role: Role) -> ApiKey {
        ApiKey {
            id: "key_1".into(),
            tenant_id: "ten_1".into(),
            user_id: None,
            name: "k".into(),
            prefix: "qk_test_abcdef".into(),
            hash: "h".into(),
            role,
            scopes: None,
            created_at_ms: 1,
            expires_at_ms: None,
            last_used_at_ms: None,
            revoked_at_ms: None,
            rotated_to: None,
            rate_limits: vec![],
            plan: "standard".into(),
            tenant_active: true,
            tenant_retention_days: None,
            tenant_shard: 0,
            tenant_moving: false,
        }
    }

    fn user(role: Role, status: &str) -> User {
        User {
            id: "usr_1".into(),
            tenant_id: "ten_1".into(),
            email: None,
            name: None,
            external_id: None,
            role,
            status: status.into(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn revoked_expired_and_suspended_keys_are_refused() {
        let live = key(Role::Member);
        assert_eq!(admit(&live, None, 10).unwrap().tenant_id, "ten_1");
        let revoked = ApiKey {
            revoked_at_ms: Some(2),
            ..live.clone()
        };
        assert_eq!(admit(&revoked, None, 10), Err(Refusal::Revoked));
        let expiring = ApiKey {
            expires_at_ms: Some(10),
            ..live.clone()
        };
        assert!(admit(&expiring, None, 9).is_ok());
        assert_eq!(admit(&expiring, None, 10), Err(Refusal::Expired));
        let suspended = ApiKey {
            tenant_active: false,
            tenant_retention_days: None,
            ..live
        };
        assert_eq!(admit(&suspended, None, 10), Err(Refusal::TenantSuspended));
        assert_eq!(
            Refusal::TenantSuspended.to_error(),
            ApiError::TenantSuspended
        );
        assert_eq!(Refusal::Expired.to_error(), ApiError::Unauthorized);
    }

    #[test]
    fn a_user_key_is_capped_by_its_user_and_dies_with_it() {
        let k = ApiKey {
            user_id: Some("usr_1".into()),
            ..key(Role::Admin)
        };
        let p = admit(&k, Some(&user(Role::Viewer, "active")), 1).unwrap();
        assert_eq!(p.role, Role::Viewer);
        assert_eq!(p.scopes, vec![Scope::DocumentsRead, Scope::JobsRead]);
        assert_eq!(p.owner_tag(), "user:usr_1");
        assert_eq!(
            admit(&k, Some(&user(Role::Admin, "disabled")), 1),
            Err(Refusal::UserDisabled)
        );
        assert_eq!(admit(&k, None, 1), Err(Refusal::UserDisabled));
    }

    #[test]
    fn scopes_are_the_keys_within_the_roles() {
        let k = ApiKey {
            scopes: Some(vec![Scope::DocumentsRead, Scope::KeysAdmin]),
            ..key(Role::Member)
        };
        let p = admit(&k, None, 1).unwrap();
        assert_eq!(p.scopes, vec![Scope::DocumentsRead]);
        assert!(p.require(Scope::DocumentsRead).is_ok());
        assert!(matches!(
            p.require(Scope::KeysAdmin),
            Err(ApiError::Forbidden(_))
        ));
        assert_eq!(p.owner_tag(), "key:key_1");
        assert_eq!(
            parse_scopes("jobs:write documents:read jobs:write"),
            Ok(vec![Scope::DocumentsRead, Scope::JobsWrite])
        );
        assert!(parse_scopes("documents:delete").is_err());
        assert!(Role::Owner > Role::Admin && Role::Member > Role::Viewer);
    }
}
