//! Tenants, as the platform operator provisions them: the record, the
//! operator's credential check, and the rules of a tenant update. Pure.

pub mod shards;

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// A tenant record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub status: String,
    #[serde(skip)]
    pub created_at_ms: u64,
    /// LLM tiers overriding the environment's (`LLM_TIERS` syntax).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_tiers: Option<String>,
    /// Days an upload is kept when it names no expiry, overriding
    /// `DEFAULT_RETENTION_DAYS` (0: forever).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u64>,
    /// The database shard holding the tenant's data (see [`shards`]).
    pub shard: u32,
    /// The region its documents, results and database rows are kept in
    /// (the region of its shard); `None`: no restriction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_region: Option<String>,
    /// Set while the tenant moves to another shard (writes refused).
    #[serde(skip)]
    pub moving_since_ms: Option<u64>,
}

/// What remains of an erased tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tombstone {
    pub tenant_id: String,
    pub requested_at_ms: u64,
    pub erased_at_ms: u64,
    pub objects_deleted: u64,
    /// Hash of the tenant's last audit entry: proof of what was erased.
    pub audit_head: Option<String>,
}

/// Body of `POST /v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
    #[serde(default = "standard")]
    pub plan: String,
    /// Where the tenant's data is kept (one of [`shards::REGIONS`] that a
    /// shard of this deployment is in); fixed at creation.
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub data_region: Option<String>,
}

fn standard() -> String {
    "standard".into()
}

/// Body of `PATCH /v1/tenants/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub plan: Option<String>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub status: Option<String>,
    /// The tenant's own LLM tiers; `""` returns it to the environment's.
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub llm_tiers: Option<String>,
    /// The tenant's default retention in days (0: forever); -1 returns it
    /// to the environment's.
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub retention_days: Option<i64>,
}

fn plan_ok(plan: &str) -> bool {
    !plan.is_empty()
        && plan.len() <= 40
        && plan
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl CreateTenant {
    pub fn parse(body: &[u8]) -> Result<CreateTenant, ApiError> {
        let t: CreateTenant = crate::strict::object(body)
            .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid tenant: {e}")))?;
        if t.name.trim().is_empty() || t.name.chars().count() > 200 {
            return Err(ApiError::Invalid(
                "invalid_name",
                "name must be 1 to 200 characters".into(),
            ));
        }
        if !plan_ok(&t.plan) {
            return Err(ApiError::Invalid(
                "invalid_plan",
                "plan is 1 to 40 of [A-Za-z0-9_-]".into(),
            ));
        }
        Ok(t)
    }
}

impl UpdateTenant {
    pub fn parse(body: &[u8]) -> Result<UpdateTenant, ApiError> {
        let u: UpdateTenant = crate::strict::object(body)
            .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid update: {e}")))?;
        if u.plan.as_deref().is_some_and(|p| !plan_ok(p)) {
            return Err(ApiError::Invalid(
                "invalid_plan",
                "plan is 1 to 40 of [A-Za-z0-9_-]".into(),
            ));
        }
        if u.status
            .as_deref()
            .is_some_and(|s| s != "active" && s != "suspended")
        {
            return Err(ApiError::Invalid(
                "invalid_status",
                "status is 'active' or 'suspended'".into(),
            ));
        }
        if u.llm_tiers.as_deref().is_some_and(|t| t.len() > 2000) {
            return Err(ApiError::Invalid(
                "invalid_llm_tiers",
                "llm_tiers must be under 2000 characters".into(),
            ));
        }
        if u.retention_days
            .is_some_and(|d| !(-1..=36_500).contains(&d))
        {
            return Err(ApiError::Invalid(
                "invalid_retention",
                "retention_days is 0 (keep) to 36500, or -1 for the environment's default".into(),
            ));
        }
        if u.plan.is_none()
            && u.status.is_none()
            && u.llm_tiers.is_none()
            && u.retention_days.is_none()
        {
            return Err(ApiError::Invalid(
                "invalid_body",
                "nothing to update".into(),
            ));
        }
        Ok(u)
    }
}

/// Whether `token` is the operator's key. Both sides are hashed first, so
/// the comparison takes the same time wherever they differ.
pub fn is_operator(token: &str, operator_key: Option<&str>, pepper: &str) -> bool {
    match operator_key {
        Some(key) if key.len() >= 16 => {
            crate::auth::hash_key(pepper, token) == crate::auth::hash_key(pepper, key)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_and_creations_are_checked() {
        assert!(CreateTenant::parse(br#"{"name":"Acme"}"#).is_ok());
        assert!(UpdateTenant::parse(br#"{"plan":"pro"}"#).is_ok());
        for null in ["plan", "status", "llm_tiers", "retention_days"] {
            let body = format!(r#"{{"{null}":null}}"#);
            assert!(UpdateTenant::parse(body.as_bytes()).is_err(), "{null}");
        }
        assert_eq!(
            CreateTenant::parse(br#"{"name":""}"#).unwrap_err().code(),
            "invalid_name"
        );
        assert_eq!(
            CreateTenant::parse(br#"{"name":"A","plan":"pro plan!"}"#)
                .unwrap_err()
                .code(),
            "invalid_plan"
        );
        assert_eq!(
            UpdateTenant::parse(br#"{"status":"gone"}"#)
                .unwrap_err()
                .code(),
            "invalid_status"
        );
        assert_eq!(
            UpdateTenant::parse(b"{}").unwrap_err().code(),
            "invalid_body"
        );
    }

    #[test]
    fn only_the_configured_operator_key_is_accepted() {
        let key = "op_secret_0123456789";
        assert!(is_operator(key, Some(key), "pepper"));
        assert!(!is_operator("op_secret_012345678X", Some(key), "pepper"));
        assert!(!is_operator(key, None, "pepper"));
        assert!(
            !is_operator("short", Some("short"), "pepper"),
            "too short to be a real key"
        );
    }
}
