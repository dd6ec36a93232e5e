//! Rows as D1 returns them, and how each becomes a domain record: the
//! one place a column's type or encoding (JSON text, f64 times) is read.

use crate::auth::{ApiKey, Role};
use crate::documents::Document;
use crate::jobs::{Command, Job, JobError, JobStatus};
use crate::ports::{StoreError, StoreResult};
use crate::tenants::Tenant;
use serde::Deserialize;

#[derive(Deserialize)]
pub(in crate::edge) struct KeyRow {
    pub(in crate::edge) id: String,
    pub(in crate::edge) tenant_id: String,
    pub(in crate::edge) user_id: Option<String>,
    pub(in crate::edge) name: String,
    pub(in crate::edge) prefix: String,
    pub(in crate::edge) hash: String,
    pub(in crate::edge) role: String,
    pub(in crate::edge) scopes: Option<String>,
    pub(in crate::edge) created_at: f64,
    pub(in crate::edge) expires_at: Option<f64>,
    pub(in crate::edge) last_used_at: Option<f64>,
    pub(in crate::edge) revoked_at: Option<f64>,
    pub(in crate::edge) rotated_to: Option<String>,
    pub(in crate::edge) rate_limits: Option<String>,
    pub(in crate::edge) plan: Option<String>,
    pub(in crate::edge) status: Option<String>,
    pub(in crate::edge) retention_days: Option<f64>,
    pub(in crate::edge) shard: Option<f64>,
    pub(in crate::edge) moving_since: Option<f64>,
}

pub(in crate::edge) const KEY_COLUMNS: &str =
    "k.id, k.tenant_id, k.user_id, k.name, k.prefix, k.hash, k.role, \
k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, k.rotated_to, k.rate_limits, \
t.plan, t.status, t.retention_days, t.shard, t.moving_since";

pub(in crate::edge) fn role_of(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Permanent(format!("bad role {s}")))
}

impl KeyRow {
    pub(in crate::edge) fn into_key(self) -> StoreResult<ApiKey> {
        Ok(ApiKey {
            role: role_of(&self.role)?,
            // Written by us from the same list; an unknown name grants nothing.
            scopes: self.scopes.map(|s| {
                s.split_whitespace()
                    .filter_map(crate::auth::Scope::parse)
                    .collect()
            }),
            expires_at_ms: self.expires_at.map(|v| v as u64),
            last_used_at_ms: self.last_used_at.map(|v| v as u64),
            rotated_to: self.rotated_to,
            user_id: self.user_id,
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            prefix: self.prefix,
            hash: self.hash,
            created_at_ms: self.created_at as u64,
            revoked_at_ms: self.revoked_at.map(|v| v as u64),
            // Validated when stored; an unreadable value falls back to defaults.
            rate_limits: self
                .rate_limits
                .and_then(|s| crate::ratelimit::parse_policies(&s).ok())
                .unwrap_or_default(),
            plan: self.plan.unwrap_or_else(|| "standard".into()),
            tenant_active: self.status.as_deref().is_none_or(|s| s == "active"),
            tenant_retention_days: self.retention_days.map(|d| d as u64),
            tenant_shard: self.shard.map_or(0, |s| s as u32),
            tenant_moving: self.moving_since.is_some(),
        })
    }
}

#[derive(Deserialize)]
pub(in crate::edge) struct TenantRow {
    pub(in crate::edge) id: String,
    pub(in crate::edge) name: String,
    pub(in crate::edge) plan: String,
    pub(in crate::edge) status: String,
    pub(in crate::edge) created_at: f64,
    pub(in crate::edge) llm_tiers: Option<String>,
    pub(in crate::edge) retention_days: Option<f64>,
    pub(in crate::edge) shard: f64,
    pub(in crate::edge) data_region: Option<String>,
    pub(in crate::edge) moving_since: Option<f64>,
}

/// The columns of a [`TenantRow`].
pub(in crate::edge) const TENANT_COLUMNS: &str =
    "id, name, plan, status, created_at, llm_tiers, retention_days, shard, data_region, moving_since";

impl TenantRow {
    pub(in crate::edge) fn into_tenant(self) -> Tenant {
        Tenant {
            id: self.id,
            name: self.name,
            plan: self.plan,
            status: self.status,
            created_at_ms: self.created_at as u64,
            llm_tiers: self.llm_tiers,
            retention_days: self.retention_days.map(|d| d as u64),
            shard: self.shard as u32,
            data_region: self.data_region,
            moving_since_ms: self.moving_since.map(|v| v as u64),
        }
    }
}

#[derive(Deserialize)]
pub(in crate::edge) struct DocRow {
    pub(in crate::edge) id: String,
    pub(in crate::edge) tenant_id: String,
    pub(in crate::edge) filename: Option<String>,
    pub(in crate::edge) media_type: String,
    pub(in crate::edge) size_bytes: f64,
    pub(in crate::edge) sha256: String,
    pub(in crate::edge) blob_key: String,
    pub(in crate::edge) created_at: f64,
    pub(in crate::edge) scan: Option<String>,
    pub(in crate::edge) expires_at: Option<f64>,
    pub(in crate::edge) owner: Option<String>,
    #[serde(default)]
    pub(in crate::edge) missing_at: Option<f64>,
}

impl From<DocRow> for Document {
    fn from(r: DocRow) -> Document {
        Document {
            id: r.id,
            tenant_id: r.tenant_id,
            filename: r.filename,
            media_type: r.media_type,
            size_bytes: r.size_bytes as u64,
            sha256: r.sha256,
            blob_key: r.blob_key,
            created_at_ms: r.created_at as u64,
            scan: r
                .scan
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            expires_at_ms: r.expires_at.map(|v| v as u64),
            owner: r.owner,
            missing_at_ms: r.missing_at.map(|v| v as u64),
        }
    }
}

#[derive(Deserialize)]
pub(in crate::edge) struct JobRow {
    pub(in crate::edge) id: String,
    pub(in crate::edge) tenant_id: String,
    pub(in crate::edge) document_id: String,
    pub(in crate::edge) commands: String,
    pub(in crate::edge) status: String,
    pub(in crate::edge) progress: f64,
    pub(in crate::edge) attempts: f64,
    pub(in crate::edge) deliveries: f64,
    pub(in crate::edge) error_code: Option<String>,
    pub(in crate::edge) error_message: Option<String>,
    pub(in crate::edge) created_at: f64,
    pub(in crate::edge) started_at: Option<f64>,
    pub(in crate::edge) finished_at: Option<f64>,
    pub(in crate::edge) lease_until: Option<f64>,
    pub(in crate::edge) command_states: Option<String>,
    pub(in crate::edge) webhook_url: Option<String>,
    pub(in crate::edge) llm_training_opt_in: Option<f64>,
    #[serde(default)]
    pub(in crate::edge) resources: Option<String>,
    pub(in crate::edge) created_by: Option<String>,
}

impl JobRow {
    pub(in crate::edge) fn into_job(self) -> StoreResult<Job> {
        let commands: Vec<Command> = serde_json::from_str(&self.commands)
            .map_err(|e| StoreError::Permanent(format!("job {} commands: {e}", self.id)))?;
        let status = JobStatus::parse(&self.status)
            .ok_or_else(|| StoreError::Permanent(format!("bad status {}", self.status)))?;
        Ok(Job {
            error: self.error_code.map(|code| JobError {
                code,
                message: self.error_message.unwrap_or_default(),
            }),
            id: self.id,
            tenant_id: self.tenant_id,
            document_id: self.document_id,
            commands,
            status,
            progress: self.progress as u8,
            attempts: self.attempts as u32,
            deliveries: self.deliveries as u32,
            created_at_ms: self.created_at as u64,
            started_at_ms: self.started_at.map(|v| v as u64),
            finished_at_ms: self.finished_at.map(|v| v as u64),
            lease_until_ms: self.lease_until.map(|v| v as u64),
            // Unreadable progress is cosmetic: show none rather than fail.
            command_states: self
                .command_states
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            webhook_url: self.webhook_url,
            llm_training_opt_in: self.llm_training_opt_in.unwrap_or(0.0) > 0.0,
            created_by: self.created_by,
            resources: self.resources.and_then(|s| serde_json::from_str(&s).ok()),
        })
    }
}

pub(in crate::edge) const JOB_COLUMNS: &str =
    "id, tenant_id, document_id, commands, status, progress, attempts, \
deliveries, error_code, error_message, created_at, started_at, finished_at, lease_until, \
command_states, webhook_url, llm_training_opt_in, created_by, resources";
