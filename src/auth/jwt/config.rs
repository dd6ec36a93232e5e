//! A tenant's identity provider as configured (`PUT /v1/tenant/idp`):
//! parsed and checked before it is stored, and shown back without its
//! shared secret.

use super::keys::{self, jwks_keys};
use crate::auth::Role;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Algorithms a tenant may allow.
pub const ALGORITHMS: [&str; 4] = ["HS256", "RS256", "ES256", "EdDSA"];

/// Claim names, configurable per tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    pub subject: String,
    /// A string or an array of strings naming Quire roles.
    pub role: Option<String>,
    /// A space-separated string or an array of Quire scopes.
    pub scopes: Option<String>,
    pub email: Option<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            subject: "sub".into(),
            role: Some("role".into()),
            scopes: Some("scope".into()),
            email: Some("email".into()),
        }
    }
}

/// A claim that must hold a given value (to tell tenants sharing one
/// issuer apart, e.g. an `org_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredClaim {
    pub name: String,
    pub value: String,
}

/// A tenant's identity provider (`PUT /v1/tenant/idp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// Must equal `iss` exactly (no case folding, no trailing-slash games).
    pub issuer: String,
    /// Must equal `aud`, or be one of its entries, exactly.
    pub audience: String,
    /// Allowed `alg` values, from [`ALGORITHMS`].
    pub algorithms: Vec<String>,
    /// HS256 shared secret (at least 32 bytes). Never shown back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hs256_secret: Option<String>,
    /// Public keys inline, as a JWKS (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Or where to fetch them (https; http to localhost in development).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u32,
    #[serde(default = "default_ttl")]
    pub jwks_ttl_seconds: u32,
    /// Least time between two fetches caused by an unknown `kid`.
    #[serde(default = "default_refetch")]
    pub jwks_refetch_seconds: u32,
    #[serde(default)]
    pub claims: ClaimNames,
    /// Role of a signed-in user whose token names none.
    #[serde(default = "default_role")]
    pub default_role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_claim: Option<RequiredClaim>,
}

fn default_leeway() -> u32 {
    60
}
fn default_ttl() -> u32 {
    600
}
fn default_refetch() -> u32 {
    60
}
fn default_role() -> Role {
    Role::Member
}

impl IdpConfig {
    /// Parses and checks a configuration; the message says what is wrong.
    pub fn parse(body: &[u8], local_allowed: bool) -> Result<IdpConfig, String> {
        crate::strict::no_null(
            body,
            &["hs256_secret", "jwks", "jwks_url", "required_claim"],
        )
        .map_err(|e| format!("invalid identity provider: {e}"))?;
        let cfg: IdpConfig =
            crate::strict::object(body).map_err(|e| format!("invalid identity provider: {e}"))?;
        cfg.check_names()?;
        cfg.check_keys(local_allowed)?;
        cfg.check_bounds()?;
        Ok(cfg)
    }

    /// Issuer, audience and algorithms.
    fn check_names(&self) -> Result<(), String> {
        if self.issuer.is_empty() || self.issuer.len() > 512 {
            return Err("issuer must be 1 to 512 characters".into());
        }
        if self.audience.is_empty() || self.audience.len() > 512 {
            return Err("audience must be 1 to 512 characters".into());
        }
        if self.algorithms.is_empty() {
            return Err("algorithms must name at least one algorithm".into());
        }
        if let Some(a) = self
            .algorithms
            .iter()
            .find(|a| !ALGORITHMS.contains(&a.as_str()))
        {
            return Err(format!(
                "algorithm '{a}' is not supported: use {}",
                ALGORITHMS.join(", ")
            ));
        }
        Ok(())
    }

    /// The secret or public keys the algorithms need, and only those.
    fn check_keys(&self, local_allowed: bool) -> Result<(), String> {
        let hs = self.algorithms.iter().any(|a| a == "HS256");
        match (&self.hs256_secret, hs) {
            (Some(s), true) if s.len() >= 32 => {}
            (_, true) => return Err("HS256 needs hs256_secret of at least 32 bytes".into()),
            (Some(_), false) => return Err("hs256_secret is set but HS256 is not allowed".into()),
            (None, false) => {}
        }
        let asymmetric = self.algorithms.iter().any(|a| a != "HS256");
        if asymmetric == (self.jwks.is_none() && self.jwks_url.is_none()) {
            return Err(if asymmetric {
                "RS256, ES256 and EdDSA need public keys: jwks or jwks_url".into()
            } else {
                "jwks and jwks_url are only used with RS256, ES256 or EdDSA".into()
            });
        }
        if self.jwks.is_some() && self.jwks_url.is_some() {
            return Err("give jwks or jwks_url, not both".into());
        }
        if let Some(jwks) = &self.jwks {
            let keys = jwks_keys(jwks).ok_or("jwks must be an object with a 'keys' array")?;
            let usable = self
                .algorithms
                .iter()
                .any(|alg| keys.iter().any(|k| keys::fits(k, alg, None)));
            if !usable {
                return Err("jwks holds no key usable with the allowed algorithms".into());
            }
        }
        if let Some(url) = &self.jwks_url {
            crate::webhooks::validate_url(url, local_allowed)
                .map_err(|e| e.replace("webhook_url", "jwks_url"))?;
        }
        Ok(())
    }

    /// Times, the default role and the subject claim.
    fn check_bounds(&self) -> Result<(), String> {
        if self.leeway_seconds > 300 {
            return Err("leeway_seconds must be at most 300".into());
        }
        if !(60..=86_400).contains(&self.jwks_ttl_seconds) {
            return Err("jwks_ttl_seconds must be from 60 to 86400".into());
        }
        if !(5..=3600).contains(&self.jwks_refetch_seconds) {
            return Err("jwks_refetch_seconds must be from 5 to 3600".into());
        }
        if self.default_role == Role::Owner {
            return Err("default_role cannot be owner".into());
        }
        if self.claims.subject.is_empty() {
            return Err("claims.subject must name a claim".into());
        }
        Ok(())
    }

    /// The configuration as shown: everything but the shared secret.
    pub fn view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("hs256_secret");
            o.insert(
                "hs256_secret_set".into(),
                self.hs256_secret.is_some().into(),
            );
        }
        v
    }
}
