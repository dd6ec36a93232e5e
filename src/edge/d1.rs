//! The metadata-store port over D1. All SQL lives here; every tenant-facing
//! statement filters by tenant. Integers are bound as `f64` because D1
//! refuses JS BigInts.

use super::storage::classify;
use crate::auth::access::{Access, Grantee, Share, Visibility};
use crate::auth::{scopes_string, ApiKey, Role};
use crate::documents::Document;
use crate::jobs::{Command, CommandState, Job, JobError, JobStatus};
use crate::ports::{
    DeadLetterStore, DocumentStore, JobStore, KeyStore, MetaStore, StoreError, StoreResult,
    TenantStore, UploadStore, WebhookStore,
};
use crate::tenants::Tenant;
use crate::webhooks::{Delivery, DeliveryStatus};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

mod dead_letters;
mod documents;
mod jobs;
mod keys;
mod tenants;
mod uploads;

/// D1, with the request's observation (call logs, injected faults).
pub struct D1Meta(pub D1Database, pub super::observe::Obs);

pub(super) fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

pub(super) fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

pub(super) fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

#[derive(Deserialize)]
struct KeyRow {
    id: String,
    tenant_id: String,
    user_id: Option<String>,
    name: String,
    prefix: String,
    hash: String,
    role: String,
    scopes: Option<String>,
    created_at: f64,
    expires_at: Option<f64>,
    last_used_at: Option<f64>,
    revoked_at: Option<f64>,
    rotated_to: Option<String>,
    rate_limits: Option<String>,
    plan: Option<String>,
    status: Option<String>,
    retention_days: Option<f64>,
}

const KEY_COLUMNS: &str = "k.id, k.tenant_id, k.user_id, k.name, k.prefix, k.hash, k.role, \
k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, k.rotated_to, k.rate_limits, \
t.plan, t.status, t.retention_days";

pub(super) fn role_of(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Permanent(format!("bad role {s}")))
}

impl KeyRow {
    fn into_key(self) -> StoreResult<ApiKey> {
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
        })
    }
}

#[derive(Deserialize)]
struct TenantRow {
    id: String,
    name: String,
    plan: String,
    status: String,
    created_at: f64,
    llm_tiers: Option<String>,
    retention_days: Option<f64>,
}

impl TenantRow {
    fn into_tenant(self) -> Tenant {
        Tenant {
            id: self.id,
            name: self.name,
            plan: self.plan,
            status: self.status,
            created_at_ms: self.created_at as u64,
            llm_tiers: self.llm_tiers,
            retention_days: self.retention_days.map(|d| d as u64),
        }
    }
}

#[derive(Deserialize)]
struct DocRow {
    id: String,
    tenant_id: String,
    filename: Option<String>,
    media_type: String,
    size_bytes: f64,
    sha256: String,
    blob_key: String,
    created_at: f64,
    scan: Option<String>,
    expires_at: Option<f64>,
    owner: Option<String>,
    #[serde(default)]
    missing_at: Option<f64>,
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
pub(super) struct JobRow {
    id: String,
    tenant_id: String,
    document_id: String,
    commands: String,
    status: String,
    progress: f64,
    attempts: f64,
    deliveries: f64,
    error_code: Option<String>,
    error_message: Option<String>,
    created_at: f64,
    started_at: Option<f64>,
    finished_at: Option<f64>,
    lease_until: Option<f64>,
    command_states: Option<String>,
    webhook_url: Option<String>,
    llm_training_opt_in: Option<f64>,
    created_by: Option<String>,
}

impl JobRow {
    pub(super) fn into_job(self) -> StoreResult<Job> {
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
        })
    }
}

pub(super) const JOB_COLUMNS: &str =
    "id, tenant_id, document_id, commands, status, progress, attempts, \
deliveries, error_code, error_message, created_at, started_at, finished_at, lease_until, \
command_states, webhook_url, llm_training_opt_in, created_by";

impl D1Meta {
    pub(super) fn stmt(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.0.prepare(sql).bind(args).map_err(classify)
    }

    pub(super) async fn run(&self, sql: &str, args: &[JsValue]) -> StoreResult<usize> {
        let stmt = self.stmt(sql, args)?;
        let result = self
            .1
            .call("d1", &crate::ops::sql_op(sql), stmt.run())
            .await
            .map_err(classify)?;
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    pub(super) async fn all<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<T>> {
        let stmt = self.stmt(sql, args)?;
        let result = self
            .1
            .call("d1", &crate::ops::sql_op(sql), stmt.all())
            .await
            .map_err(classify)?;
        result.results::<T>().map_err(classify)
    }

    pub(super) async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Option<T>> {
        Ok(self.all::<T>(sql, args).await?.into_iter().next())
    }

    async fn job_where(&self, clause: &str, args: &[JsValue]) -> StoreResult<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {clause}");
        self.first::<JobRow>(&sql, args)
            .await?
            .map(JobRow::into_job)
            .transpose()
    }
}

fn limits_string(limits: &[crate::ratelimit::Policy]) -> Option<String> {
    let parts: Vec<String> = limits
        .iter()
        .map(|p| format!("{}={}/{}", p.name, p.limit, p.period_ms / 1000))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

impl D1Meta {
    async fn shares_where(&self, clause: &str, args: &[JsValue]) -> StoreResult<Vec<Share>> {
        #[derive(Deserialize)]
        struct Row {
            document_id: String,
            grantee_type: String,
            grantee: String,
            access: String,
            created_by: String,
            created_at: f64,
        }
        let sql = format!(
            "SELECT document_id, grantee_type, grantee, access, created_by, created_at \
             FROM document_shares WHERE {clause}"
        );
        let rows = self.all::<Row>(&sql, args).await?;
        rows.into_iter()
            .map(|r| {
                let grantee = match r.grantee_type.as_str() {
                    "user" => Grantee::User(r.grantee),
                    _ => Grantee::Role(role_of(&r.grantee)?),
                };
                Ok(Share {
                    document_id: r.document_id,
                    grantee,
                    access: if r.access == "write" {
                        Access::Write
                    } else {
                        Access::Read
                    },
                    created_by: r.created_by,
                    created_at_ms: r.created_at as u64,
                })
            })
            .collect()
    }

    async fn dead_letters_where(
        &self,
        clause: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<crate::jobs::DeadLetter>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            kind: String,
            ref_id: String,
            tenant_id: Option<String>,
            body: String,
            attempts: f64,
            reason: Option<String>,
            received_at: f64,
            replayed_at: Option<f64>,
        }
        let sql = format!("SELECT * FROM dead_letters WHERE {clause}");
        Ok(self
            .all::<Row>(&sql, args)
            .await?
            .into_iter()
            .map(|r| crate::jobs::DeadLetter {
                id: r.id,
                kind: r.kind,
                ref_id: r.ref_id,
                tenant_id: r.tenant_id,
                body: r.body,
                attempts: r.attempts as u32,
                reason: r.reason,
                received_at_ms: r.received_at as u64,
                replayed_at_ms: r.replayed_at.map(|v| v as u64),
            })
            .collect())
    }

    fn insert_key_stmt(&self, k: &ApiKey) -> StoreResult<D1PreparedStatement> {
        let sql = "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, hash, role, \
                   scopes, created_at, expires_at, rate_limits) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
        self.stmt(
            sql,
            &[
                text(&k.id),
                text(&k.tenant_id),
                opt_text(k.user_id.as_deref()),
                text(&k.name),
                text(&k.prefix),
                text(&k.hash),
                text(k.role.as_str()),
                opt_text(k.scopes.as_deref().map(scopes_string).as_deref()),
                num(k.created_at_ms),
                k.expires_at_ms.map_or(JsValue::NULL, num),
                opt_text(limits_string(&k.rate_limits).as_deref()),
            ],
        )
    }
}

impl MetaStore for D1Meta {
    async fn ping(&self) -> StoreResult<()> {
        self.run("SELECT 1", &[]).await.map(|_| ())
    }
}

#[derive(Deserialize)]
struct DeliveryRow {
    id: String,
    tenant_id: String,
    job_id: String,
    url: String,
    event: String,
    payload: String,
    status: String,
    attempts: f64,
    last_status_code: Option<f64>,
    last_error: Option<String>,
    created_at: f64,
    delivered_at: Option<f64>,
}

impl DeliveryRow {
    fn into_delivery(self) -> StoreResult<Delivery> {
        Ok(Delivery {
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Permanent(format!("bad status {}", self.status)))?,
            id: self.id,
            tenant_id: self.tenant_id,
            job_id: self.job_id,
            url: self.url,
            event: self.event,
            payload: self.payload,
            attempts: self.attempts as u32,
            last_status_code: self.last_status_code.map(|c| c as u16),
            last_error: self.last_error,
            created_at_ms: self.created_at as u64,
            delivered_at_ms: self.delivered_at.map(|v| v as u64),
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, tenant_id, job_id, url, event, payload, status, attempts, \
last_status_code, last_error, created_at, delivered_at";

impl WebhookStore for D1Meta {
    async fn tenant_secret_or_insert(
        &self,
        tenant_id: &str,
        candidate: &str,
    ) -> StoreResult<String> {
        let sql = "UPDATE tenants SET webhook_secret = ?2 WHERE id = ?1 AND webhook_secret IS NULL";
        self.run(sql, &[text(tenant_id), text(candidate)]).await?;
        self.tenant_secret(tenant_id)
            .await?
            .ok_or_else(|| StoreError::Permanent(format!("tenant {tenant_id} not found")))
    }

    async fn tenant_secret(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        #[derive(Deserialize)]
        struct Row {
            webhook_secret: Option<String>,
        }
        let sql = "SELECT webhook_secret FROM tenants WHERE id = ?1";
        let row = self.first::<Row>(sql, &[text(tenant_id)]).await?;
        Ok(row.and_then(|r| r.webhook_secret))
    }

    async fn insert_delivery(&self, d: &Delivery) -> StoreResult<()> {
        let sql = "INSERT OR IGNORE INTO webhook_deliveries (id, tenant_id, job_id, url, event, \
                   payload, status, attempts, created_at, updated_at) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)";
        let args = [
            text(&d.id),
            text(&d.tenant_id),
            text(&d.job_id),
            text(&d.url),
            text(&d.event),
            text(&d.payload),
            text(d.status.as_str()),
            num(d.created_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1");
        self.first::<DeliveryRow>(&sql, &[text(id)])
            .await?
            .map(DeliveryRow::into_delivery)
            .transpose()
    }

    async fn list_deliveries(&self, tenant_id: &str, job_id: &str) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = ?1 AND job_id = ?2 ORDER BY created_at"
        );
        let rows = self
            .all::<DeliveryRow>(&sql, &[text(tenant_id), text(job_id)])
            .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    async fn claim_delivery(
        &self,
        id: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> StoreResult<bool> {
        let sql = "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = ?3, \
                   updated_at = ?2 WHERE id = ?1 AND status = 'pending' \
                   AND (lease_until IS NULL OR lease_until < ?2)";
        Ok(self
            .run(sql, &[text(id), num(now_ms), num(lease_until_ms)])
            .await?
            == 1)
    }

    async fn finish_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        http_status: Option<u16>,
        error: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<()> {
        let sql = "UPDATE webhook_deliveries SET status = ?2, last_status_code = ?3, \
                   last_error = ?4, lease_until = NULL, updated_at = ?5, \
                   delivered_at = CASE WHEN ?2 = 'succeeded' THEN ?5 ELSE delivered_at END \
                   WHERE id = ?1";
        let code = http_status.map_or(JsValue::NULL, |c| num(u64::from(c)));
        let args = [
            text(id),
            text(status.as_str()),
            code,
            opt_text(error),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }
}
