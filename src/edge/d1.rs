//! The metadata-store port over D1. All SQL lives here; every tenant-facing
//! statement filters by tenant. Integers are bound as `f64` because D1
//! refuses JS BigInts.

use super::storage::classify;
use crate::auth::access::{Access, Grantee, Share, Visibility};
use crate::auth::{scopes_string, ApiKey, Role};
use crate::documents::Document;
use crate::jobs::{Command, CommandState, Job, JobError, JobStatus};
use crate::ports::{MetaStore, StoreError, StoreResult, WebhookStore};
use crate::tenants::Tenant;
use crate::webhooks::{Delivery, DeliveryStatus};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

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

    async fn find_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.hash = ?1"
        );
        self.first::<KeyRow>(&sql, &[text(hash)])
            .await?
            .map(KeyRow::into_key)
            .transpose()
    }

    async fn insert_tenant(&self, t: &Tenant, owner: &ApiKey) -> StoreResult<()> {
        let tenant = self.stmt(
            "INSERT INTO tenants (id, name, created_at, plan, status) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                text(&t.id),
                text(&t.name),
                num(t.created_at_ms),
                text(&t.plan),
                text(&t.status),
            ],
        )?;
        let key = self.insert_key_stmt(owner)?;
        // One batch is one transaction: no tenant without its owner key.
        self.batch_results(vec![tenant, key]).await?;
        Ok(())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = "SELECT id, name, plan, status, created_at, llm_tiers, retention_days FROM tenants ORDER BY id";
        let rows = self.all::<TenantRow>(sql, &[]).await?;
        Ok(rows.into_iter().map(TenantRow::into_tenant).collect())
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = "SELECT id, name, plan, status, created_at, llm_tiers, retention_days FROM tenants WHERE id = ?1";
        Ok(self
            .first::<TenantRow>(sql, &[text(id)])
            .await?
            .map(TenantRow::into_tenant))
    }

    async fn request_erase(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE tenants SET status = 'suspended', \
                   erase_requested_at = COALESCE(erase_requested_at, ?2) WHERE id = ?1";
        Ok(self.run(sql, &[text(tenant_id), num(now_ms)]).await? == 1)
    }

    async fn tenants_to_erase(&self, limit: u32) -> StoreResult<Vec<(String, u64)>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            erase_requested_at: f64,
        }
        let sql = "SELECT id, erase_requested_at FROM tenants \
                   WHERE erase_requested_at IS NOT NULL ORDER BY erase_requested_at LIMIT ?1";
        let rows = self.all::<Row>(sql, &[num(u64::from(limit))]).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.erase_requested_at as u64))
            .collect())
    }

    async fn erase_tenant_rows(&self, tenant_id: &str) -> StoreResult<()> {
        let args = [text(tenant_id)];
        let mut statements = Vec::new();
        statements.push(self.stmt(
            "DELETE FROM upload_parts WHERE upload_id IN (SELECT id FROM uploads WHERE tenant_id = ?1)",
            &args,
        )?);
        for table in [
            "uploads",
            "document_shares",
            "webhook_deliveries",
            "jobs",
            "documents",
            "api_keys",
        ] {
            statements
                .push(self.stmt(&format!("DELETE FROM {table} WHERE tenant_id = ?1"), &args)?);
        }
        statements.push(self.stmt("DELETE FROM tenants WHERE id = ?1", &args)?);
        self.batch_results(statements).await?;
        Ok(())
    }

    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 ORDER BY id");
        self.all::<JobRow>(&sql, &[text(tenant_id)])
            .await?
            .into_iter()
            .map(JobRow::into_job)
            .collect()
    }

    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>> {
        self.shares_where("tenant_id = ?1 ORDER BY document_id", &[text(tenant_id)])
            .await
    }

    async fn update_tenant(
        &self,
        id: &str,
        c: &crate::tenants::UpdateTenant,
    ) -> StoreResult<Option<Tenant>> {
        // llm_tiers: NULL keeps it, '' clears it; retention_days: NULL
        // keeps it, -1 clears it.
        let sql = "UPDATE tenants SET plan = COALESCE(?2, plan), status = COALESCE(?3, status), \
                   llm_tiers = CASE WHEN ?4 IS NULL THEN llm_tiers WHEN ?4 = '' THEN NULL \
                   ELSE ?4 END, \
                   retention_days = CASE WHEN ?5 IS NULL THEN retention_days WHEN ?5 < 0 \
                   THEN NULL ELSE ?5 END WHERE id = ?1";
        let args = [
            text(id),
            opt_text(c.plan.as_deref()),
            opt_text(c.status.as_deref()),
            opt_text(c.llm_tiers.as_deref()),
            c.retention_days
                .map_or(JsValue::NULL, |d| JsValue::from_f64(d as f64)),
        ];
        self.run(sql, &args).await?;
        let sql = "SELECT id, name, plan, status, created_at, llm_tiers, retention_days FROM tenants WHERE id = ?1";
        Ok(self
            .first::<TenantRow>(sql, &[text(id)])
            .await?
            .map(TenantRow::into_tenant))
    }

    async fn insert_key(&self, k: &ApiKey) -> StoreResult<()> {
        let stmt = self.insert_key_stmt(k)?;
        self.1
            .call("d1", "INSERT api_keys", stmt.run())
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn list_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.tenant_id = ?1 ORDER BY k.id DESC"
        );
        let rows = self.all::<KeyRow>(&sql, &[text(tenant_id)]).await?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    async fn revoke_key(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE api_keys SET revoked_at = ?3 \
                   WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL";
        Ok(self
            .run(sql, &[text(tenant_id), text(id), num(now_ms)])
            .await?
            == 1)
    }

    async fn get_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.tenant_id = ?1 AND k.id = ?2"
        );
        self.first::<KeyRow>(&sql, &[text(tenant_id), text(id)])
            .await?
            .map(KeyRow::into_key)
            .transpose()
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        old_id: &str,
        new: &ApiKey,
        old_expires_at_ms: u64,
    ) -> StoreResult<bool> {
        // The update goes first and the insert only happens when it changed
        // a row, all in one transaction: two concurrent rotations cannot
        // both succeed.
        let update = self.stmt(
            "UPDATE api_keys SET rotated_to = ?3, \
             expires_at = MIN(COALESCE(expires_at, ?4), ?4) \
             WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL AND rotated_to IS NULL",
            &[
                text(tenant_id),
                text(old_id),
                text(&new.id),
                num(old_expires_at_ms),
            ],
        )?;
        let insert = self.stmt(
            "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, hash, role, scopes, \
             created_at, expires_at, rate_limits) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
             WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?12 AND rotated_to = ?1)",
            &[
                text(&new.id),
                text(&new.tenant_id),
                opt_text(new.user_id.as_deref()),
                text(&new.name),
                text(&new.prefix),
                text(&new.hash),
                text(new.role.as_str()),
                opt_text(new.scopes.as_deref().map(scopes_string).as_deref()),
                num(new.created_at_ms),
                new.expires_at_ms.map_or(JsValue::NULL, num),
                opt_text(limits_string(&new.rate_limits).as_deref()),
                text(old_id),
            ],
        )?;
        let results = self.batch_results(vec![update, insert]).await?;
        let inserted = results
            .get(1)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(inserted == 1)
    }

    async fn touch_key(&self, id: &str, now_ms: u64, since_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE api_keys SET last_used_at = ?2 \
                   WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)";
        self.run(sql, &[text(id), num(now_ms), num(since_ms)])
            .await
            .map(|_| ())
    }

    async fn insert_upload(&self, upload: &crate::uploads::Upload) -> StoreResult<()> {
        self.insert_upload_row(upload).await
    }
    async fn get_upload(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::uploads::Upload>> {
        Ok(self
            .upload_where("id = ?1 AND tenant_id = ?2", &[text(id), text(tenant_id)])
            .await?
            .into_iter()
            .next())
    }
    async fn put_upload_part(
        &self,
        upload_id: &str,
        part: &crate::uploads::Part,
        now_ms: u64,
    ) -> StoreResult<()> {
        self.put_part_row(upload_id, part, now_ms).await
    }
    async fn list_upload_parts(&self, upload_id: &str) -> StoreResult<Vec<crate::uploads::Part>> {
        self.part_rows(upload_id).await
    }
    async fn advance_upload_hash(
        &self,
        upload_id: &str,
        hashed_parts: u32,
        state: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE uploads SET hash_state = ?3, hashed_parts = ?2 + 1 \
                   WHERE id = ?1 AND hashed_parts = ?2";
        let changed = self
            .run(
                sql,
                &[text(upload_id), num(u64::from(hashed_parts)), text(state)],
            )
            .await?;
        Ok(changed > 0)
    }
    async fn delete_upload(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        self.delete_upload_rows(tenant_id, id).await
    }
    async fn idle_uploads(
        &self,
        before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::uploads::Upload>> {
        self.upload_where(
            "updated_at < ?1 ORDER BY updated_at LIMIT ?2",
            &[num(before_ms), num(u64::from(limit))],
        )
        .await
    }
    async fn documents_to_verify(&self, before_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        let sql = "SELECT * FROM documents WHERE created_at < ?1 \
                   ORDER BY verified_at IS NOT NULL, verified_at LIMIT ?2";
        let rows = self
            .all::<DocRow>(sql, &[num(before_ms), num(u64::from(limit))])
            .await?;
        Ok(rows.into_iter().map(Document::from).collect())
    }
    async fn mark_verified(
        &self,
        tenant_id: &str,
        id: &str,
        now_ms: u64,
        missing: bool,
    ) -> StoreResult<()> {
        let sql = if missing {
            "UPDATE documents SET verified_at = ?3, missing_at = COALESCE(missing_at, ?3) \
             WHERE tenant_id = ?1 AND id = ?2"
        } else {
            "UPDATE documents SET verified_at = ?3, missing_at = NULL WHERE tenant_id = ?1 AND id = ?2"
        };
        self.run(sql, &[text(tenant_id), text(id), num(now_ms)])
            .await
            .map(|_| ())
    }
    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool> {
        Ok(!self
            .upload_where(
                "tenant_id = ?1 AND document_id = ?2 LIMIT 1",
                &[text(tenant_id), text(document_id)],
            )
            .await?
            .is_empty())
    }

    async fn insert_document(
        &self,
        d: &Document,
        idempotency_key: Option<&str>,
    ) -> StoreResult<()> {
        let scan =
            serde_json::to_string(&d.scan).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "INSERT INTO documents (id, tenant_id, filename, media_type, size_bytes, \
                   sha256, blob_key, created_at, scan, expires_at, owner, idempotency_key) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
        let args = [
            text(&d.id),
            text(&d.tenant_id),
            opt_text(d.filename.as_deref()),
            text(&d.media_type),
            num(d.size_bytes),
            text(&d.sha256),
            text(&d.blob_key),
            num(d.created_at_ms),
            text(&scan),
            d.expires_at_ms.map_or(JsValue::NULL, num),
            opt_text(d.owner.as_deref()),
            opt_text(idempotency_key),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn document_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> StoreResult<Option<Document>> {
        let sql = "SELECT * FROM documents WHERE tenant_id = ?1 AND idempotency_key = ?2";
        let row = self
            .first::<DocRow>(sql, &[text(tenant_id), text(key)])
            .await?;
        Ok(row.map(Document::from))
    }

    async fn expired_documents(&self, now_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        let sql = "SELECT * FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?1 \
                   ORDER BY expires_at LIMIT ?2";
        let rows = self
            .all::<DocRow>(sql, &[num(now_ms), num(u64::from(limit))])
            .await?;
        Ok(rows.into_iter().map(Document::from).collect())
    }

    async fn get_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Document>> {
        let sql = "SELECT * FROM documents WHERE tenant_id = ?1 AND id = ?2";
        Ok(self
            .first::<DocRow>(sql, &[text(tenant_id), text(id)])
            .await?
            .map(Document::from))
    }

    async fn list_documents(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
        visibility: Option<&Visibility>,
    ) -> StoreResult<Vec<Document>> {
        let base = [text(tenant_id), opt_text(before), num(u64::from(limit))];
        let rows = match visibility {
            None => {
                let sql = "SELECT * FROM documents WHERE tenant_id = ?1 \
                           AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";
                self.all::<DocRow>(sql, &base).await?
            }
            Some(v) => {
                // Roles are passed as ",member,viewer," and matched with instr,
                // so the statement has a fixed number of parameters.
                let sql = "SELECT d.* FROM documents d WHERE d.tenant_id = ?1 \
                           AND (?2 IS NULL OR d.id < ?2) AND (d.owner = ?4 OR EXISTS ( \
                             SELECT 1 FROM document_shares s \
                             WHERE s.tenant_id = ?1 AND s.document_id = d.id AND ( \
                               (s.grantee_type = 'user' AND s.grantee = ?5) OR \
                               (s.grantee_type = 'role' AND instr(?6, ',' || s.grantee || ',') > 0)))) \
                           ORDER BY d.id DESC LIMIT ?3";
                let roles: String = v.roles.iter().map(|r| format!(",{}", r.as_str())).collect();
                let mut args = base.to_vec();
                args.push(text(&v.owner));
                args.push(opt_text(v.user_id.as_deref()));
                args.push(text(&format!("{roles},")));
                self.all::<DocRow>(sql, &args).await?
            }
        };
        Ok(rows.into_iter().map(Document::from).collect())
    }

    async fn count_documents_with_sha256(&self, tenant_id: &str, sha256: &str) -> StoreResult<u64> {
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let sql = "SELECT COUNT(*) AS n FROM documents WHERE tenant_id = ?1 AND sha256 = ?2";
        let row = self
            .first::<Count>(sql, &[text(tenant_id), text(sha256)])
            .await?;
        Ok(row.map_or(0, |c| c.n as u64))
    }

    async fn list_shares(&self, tenant_id: &str, document_id: &str) -> StoreResult<Vec<Share>> {
        self.shares_where(
            "tenant_id = ?1 AND document_id = ?2 ORDER BY created_at",
            &[text(tenant_id), text(document_id)],
        )
        .await
    }

    async fn put_share(&self, tenant_id: &str, share: &Share) -> StoreResult<()> {
        let sql = "INSERT INTO document_shares (tenant_id, document_id, grantee_type, grantee, \
                   access, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                   ON CONFLICT (document_id, grantee_type, grantee) DO UPDATE SET \
                   access = excluded.access, created_by = excluded.created_by, \
                   created_at = excluded.created_at";
        let args = [
            text(tenant_id),
            text(&share.document_id),
            text(share.grantee.kind()),
            text(&share.grantee.id()),
            text(share.access.as_str()),
            text(&share.created_by),
            num(share.created_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn delete_share(
        &self,
        tenant_id: &str,
        document_id: &str,
        grantee: &Grantee,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM document_shares WHERE tenant_id = ?1 AND document_id = ?2 \
                   AND grantee_type = ?3 AND grantee = ?4";
        let args = [
            text(tenant_id),
            text(document_id),
            text(grantee.kind()),
            text(&grantee.id()),
        ];
        Ok(self.run(sql, &args).await? == 1)
    }

    async fn delete_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<Job>>> {
        let jobs_sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 AND document_id = ?2");
        let args = [text(tenant_id), text(id)];
        let jobs: Vec<Job> = self
            .all::<JobRow>(&jobs_sql, &args)
            .await?
            .into_iter()
            .map(JobRow::into_job)
            .collect::<StoreResult<_>>()?;
        // One batch = one transaction: the document and its jobs go together.
        let results = self
            .0
            .batch(vec![
                self.stmt(
                    "DELETE FROM jobs WHERE tenant_id = ?1 AND document_id = ?2",
                    &args,
                )?,
                self.stmt(
                    "DELETE FROM document_shares WHERE tenant_id = ?1 AND document_id = ?2",
                    &args,
                )?,
                self.stmt(
                    "DELETE FROM documents WHERE tenant_id = ?1 AND id = ?2",
                    &args,
                )?,
            ])
            .await
            .map_err(classify)?;
        let deleted = results
            .get(2)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok((deleted == 1).then_some(jobs))
    }

    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)> {
        #[derive(Deserialize)]
        struct Counts {
            mine: Option<f64>,
            total: Option<f64>,
        }
        let sql = "SELECT SUM(tenant_id = ?1) AS mine, COUNT(*) AS total FROM jobs \
                   WHERE (status = 'running' AND lease_until >= ?2) \
                   OR (status = 'queued' AND updated_at >= ?3)";
        let args = [text(tenant_id), num(now_ms), num(queued_since_ms)];
        let row = self.first::<Counts>(sql, &args).await?;
        Ok(row.map_or((0, 0), |c| {
            (c.mine.unwrap_or(0.0) as u64, c.total.unwrap_or(0.0) as u64)
        }))
    }

    async fn insert_job(&self, j: &Job, idempotency_key: Option<&str>) -> StoreResult<()> {
        let commands =
            serde_json::to_string(&j.commands).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let states = serde_json::to_string(&j.command_states)
            .map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "INSERT INTO jobs (id, tenant_id, document_id, commands, status, progress, \
                   attempts, deliveries, created_at, updated_at, command_states, webhook_url, \
                   llm_training_opt_in, created_by, idempotency_key) \
                   VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, ?6, ?6, ?7, ?8, ?9, ?10, ?11)";
        let args = [
            text(&j.id),
            text(&j.tenant_id),
            text(&j.document_id),
            text(&commands),
            text(j.status.as_str()),
            num(j.created_at_ms),
            text(&states),
            opt_text(j.webhook_url.as_deref()),
            num(u64::from(j.llm_training_opt_in)),
            opt_text(j.created_by.as_deref()),
            opt_text(idempotency_key),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn job_by_idempotency_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Job>> {
        self.job_where(
            "tenant_id = ?1 AND idempotency_key = ?2",
            &[text(tenant_id), text(key)],
        )
        .await
    }

    async fn delete_job(&self, tenant_id: &str, id: &str) -> StoreResult<()> {
        let sql = "DELETE FROM jobs WHERE tenant_id = ?1 AND id = ?2";
        self.run(sql, &[text(tenant_id), text(id)])
            .await
            .map(|_| ())
    }

    async fn get_job(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Job>> {
        self.job_where("tenant_id = ?1 AND id = ?2", &[text(tenant_id), text(id)])
            .await
    }

    async fn load_job(&self, id: &str) -> StoreResult<Option<Job>> {
        self.job_where("id = ?1", &[text(id)]).await
    }

    async fn record_delivery(&self, id: &str) -> StoreResult<()> {
        let sql = "UPDATE jobs SET deliveries = deliveries + 1 WHERE id = ?1";
        self.run(sql, &[text(id)]).await.map(|_| ())
    }

    async fn claim_job(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> StoreResult<bool> {
        // One conditional UPDATE is atomic in D1 (SQLite): of two concurrent
        // deliveries, exactly one sees `changes = 1`.
        let sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
                   lease_until = ?3, started_at = COALESCE(started_at, ?2), \
                   progress = MAX(progress, 5), updated_at = ?2 \
                   WHERE id = ?1 AND (status = 'queued' \
                   OR (status = 'running' AND lease_until < ?2))";
        Ok(self
            .run(sql, &[text(id), num(now_ms), num(lease_until_ms)])
            .await?
            == 1)
    }

    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        now_ms: u64,
    ) -> StoreResult<()> {
        let states =
            serde_json::to_string(commands).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "UPDATE jobs SET progress = ?2, command_states = ?3, updated_at = ?4 \
                   WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            num(u64::from(progress)),
            text(&states),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'cancelled', finished_at = ?3, updated_at = ?3, \
                   lease_until = NULL \
                   WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')";
        Ok(self
            .run(sql, &[text(tenant_id), text(id), num(now_ms)])
            .await?
            == 1)
    }

    async fn complete_job(&self, id: &str, now_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE jobs SET status = 'succeeded', progress = 100, error_code = NULL, \
                   error_message = NULL, finished_at = ?2, updated_at = ?2, lease_until = NULL \
                   WHERE id = ?1 AND status = 'running'";
        self.run(sql, &[text(id), num(now_ms)]).await.map(|_| ())
    }

    async fn fail_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE jobs SET status = 'failed', error_code = ?2, error_message = ?3, \
                   finished_at = ?4, updated_at = ?4, lease_until = NULL \
                   WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn insert_dead_letter(&self, d: &crate::jobs::DeadLetter) -> StoreResult<()> {
        let sql = "INSERT OR IGNORE INTO dead_letters (id, kind, ref_id, tenant_id, body, \
                   attempts, reason, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        let args = [
            text(&d.id),
            text(&d.kind),
            text(&d.ref_id),
            opt_text(d.tenant_id.as_deref()),
            text(&d.body),
            num(u64::from(d.attempts)),
            opt_text(d.reason.as_deref()),
            num(d.received_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<crate::jobs::DeadLetter>> {
        self.dead_letters_where(
            "1 = 1 ORDER BY received_at DESC LIMIT ?1",
            &[num(u64::from(limit))],
        )
        .await
    }

    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<crate::jobs::DeadLetter>> {
        Ok(self
            .dead_letters_where("id = ?1", &[text(id)])
            .await?
            .into_iter()
            .next())
    }

    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE dead_letters SET replayed_at = ?2 WHERE id = ?1 AND replayed_at IS NULL";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }

    async fn revive_job(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'queued', attempts = 0, error_code = NULL, \
                   error_message = NULL, finished_at = NULL, lease_until = NULL, updated_at = ?2 \
                   WHERE id = ?1 AND status = 'failed' AND error_code = 'dead_lettered'";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }

    async fn stalled_jobs(
        &self,
        now_ms: u64,
        queued_before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::Stalled>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            attempts: f64,
            resends: f64,
        }
        let sql = "SELECT id, attempts, resends FROM jobs WHERE \
                   (status = 'running' AND lease_until < ?1) OR \
                   (status = 'queued' AND updated_at < ?2) ORDER BY updated_at LIMIT ?3";
        let args = [num(now_ms), num(queued_before_ms), num(u64::from(limit))];
        let rows = self.all::<Row>(sql, &args).await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::jobs::Stalled {
                id: r.id,
                attempts: r.attempts as u32,
                resends: r.resends as u32,
            })
            .collect())
    }

    async fn requeue_stalled(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ?2, \
                   resends = resends + 1 \
                   WHERE id = ?1 AND ((status = 'running' AND lease_until < ?2) \
                   OR status = 'queued')";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }

    async fn fail_stalled(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'failed', error_code = ?2, error_message = ?3, \
                   finished_at = ?4, updated_at = ?4, lease_until = NULL \
                   WHERE id = ?1 AND ((status = 'running' AND lease_until < ?4) \
                   OR status = 'queued')";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        Ok(self.run(sql, &args).await? == 1)
    }

    async fn release_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE jobs SET status = 'queued', error_code = ?2, error_message = ?3, \
                   updated_at = ?4, lease_until = NULL WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
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
