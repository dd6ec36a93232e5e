//! The directory port over D1: users, identity providers, the audit log.

use super::d1::{num, opt_text, role_of, text, D1Meta};
use crate::audit::{Entry, Filter};
use crate::auth::User;
use crate::ports::{Directory, IdpRecord, StoreResult};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

#[derive(Deserialize)]
struct UserRow {
    id: String,
    tenant_id: String,
    email: Option<String>,
    name: Option<String>,
    external_id: Option<String>,
    role: String,
    status: String,
    created_at: f64,
    updated_at: f64,
}

impl UserRow {
    fn into_user(self) -> StoreResult<User> {
        Ok(User {
            role: role_of(&self.role)?,
            id: self.id,
            tenant_id: self.tenant_id,
            email: self.email,
            name: self.name,
            external_id: self.external_id,
            status: self.status,
            created_at_ms: self.created_at as u64,
            updated_at_ms: self.updated_at as u64,
        })
    }
}

#[derive(Deserialize)]
struct IdpRow {
    tenant_id: String,
    config: String,
    jwks: Option<String>,
    jwks_fetched_at: Option<f64>,
    shard: Option<f64>,
}

impl From<IdpRow> for IdpRecord {
    fn from(r: IdpRow) -> IdpRecord {
        IdpRecord {
            tenant_id: r.tenant_id,
            config: r.config,
            jwks: r.jwks,
            jwks_fetched_at_ms: r.jwks_fetched_at.map(|v| v as u64),
            shard: r.shard.map_or(0, |s| s as u32),
        }
    }
}

#[derive(Deserialize)]
struct AuditRow {
    tenant_id: String,
    seq: f64,
    at: f64,
    actor: String,
    via: Option<String>,
    action: String,
    resource: Option<String>,
    outcome: String,
    ip: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<AuditRow> for Entry {
    fn from(r: AuditRow) -> Entry {
        Entry {
            tenant_id: r.tenant_id,
            seq: r.seq as u64,
            at_ms: r.at as u64,
            actor: r.actor,
            via: r.via,
            action: r.action,
            resource: r.resource,
            outcome: r.outcome,
            ip: r.ip,
            request_id: r.request_id,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

const USER_COLUMNS: &str =
    "id, tenant_id, email, name, external_id, role, status, created_at, updated_at";
const IDP_COLUMNS: &str = "tenant_id, config, jwks, jwks_fetched_at, \
    (SELECT t.shard FROM tenants t WHERE t.id = identity_providers.tenant_id) AS shard";

fn opt_num(n: Option<u64>) -> JsValue {
    n.map_or(JsValue::NULL, num)
}

impl D1Meta {
    async fn users_where(&self, clause: &str, args: &[JsValue]) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}");
        let rows = self.all::<UserRow>(&sql, args).await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }
}

impl Directory for D1Meta {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        );
        let args = [
            text(&u.id),
            text(&u.tenant_id),
            opt_text(u.email.as_deref()),
            opt_text(u.name.as_deref()),
            opt_text(u.external_id.as_deref()),
            text(u.role.as_str()),
            text(&u.status),
            num(u.created_at_ms),
            num(u.updated_at_ms),
        ];
        self.run(&sql, &args).await.map(|_| ())
    }

    async fn get_user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        let users = self
            .users_where("tenant_id = ?1 AND id = ?2", &[text(tenant_id), text(id)])
            .await?;
        Ok(users.into_iter().next())
    }

    async fn find_user_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        let args = [text(tenant_id), text(external_id)];
        let users = self
            .users_where("tenant_id = ?1 AND external_id = ?2", &args)
            .await?;
        Ok(users.into_iter().next())
    }

    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        self.users_where("tenant_id = ?1 ORDER BY id", &[text(tenant_id)])
            .await
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let sql = "UPDATE users SET role = ?3, status = ?4, name = ?5, updated_at = ?6 \
                   WHERE tenant_id = ?1 AND id = ?2";
        let args = [
            text(&u.tenant_id),
            text(&u.id),
            text(u.role.as_str()),
            text(&u.status),
            opt_text(u.name.as_deref()),
            num(u.updated_at_ms),
        ];
        Ok(self.run(sql, &args).await? == 1)
    }

    async fn put_idp(
        &self,
        tenant_id: &str,
        issuer: &str,
        config: &str,
        now_ms: u64,
    ) -> StoreResult<()> {
        // A new configuration drops the cached JWKS: it may point elsewhere.
        let sql = "INSERT INTO identity_providers (tenant_id, issuer, config, updated_at) \
                   VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id) DO UPDATE SET \
                   issuer = excluded.issuer, config = excluded.config, jwks = NULL, \
                   jwks_fetched_at = NULL, updated_at = excluded.updated_at";
        let args = [text(tenant_id), text(issuer), text(config), num(now_ms)];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn get_idp(&self, tenant_id: &str) -> StoreResult<Option<IdpRecord>> {
        let sql = format!("SELECT {IDP_COLUMNS} FROM identity_providers WHERE tenant_id = ?1");
        Ok(self
            .first::<IdpRow>(&sql, &[text(tenant_id)])
            .await?
            .map(IdpRecord::from))
    }

    async fn idps_by_issuer(&self, issuer: &str) -> StoreResult<Vec<IdpRecord>> {
        let sql =
            format!("SELECT {IDP_COLUMNS} FROM identity_providers WHERE issuer = ?1 LIMIT 10");
        let rows = self.all::<IdpRow>(&sql, &[text(issuer)]).await?;
        Ok(rows.into_iter().map(IdpRecord::from).collect())
    }

    async fn delete_idp(&self, tenant_id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM identity_providers WHERE tenant_id = ?1";
        Ok(self.run(sql, &[text(tenant_id)]).await? == 1)
    }

    async fn save_jwks(&self, tenant_id: &str, jwks: Option<&str>, at_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE identity_providers SET jwks = COALESCE(?2, jwks), \
                   jwks_fetched_at = ?3 WHERE tenant_id = ?1";
        self.run(sql, &[text(tenant_id), opt_text(jwks), num(at_ms)])
            .await
            .map(|_| ())
    }

    async fn audit_head(&self, tenant_id: &str) -> StoreResult<Option<(u64, String)>> {
        #[derive(Deserialize)]
        struct Head {
            seq: f64,
            hash: String,
        }
        let sql = "SELECT seq, hash FROM audit_log WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT 1";
        Ok(self
            .first::<Head>(sql, &[text(tenant_id)])
            .await?
            .map(|h| (h.seq as u64, h.hash)))
    }

    async fn insert_audit(&self, e: &Entry) -> StoreResult<bool> {
        let stmt = self.audit_insert(e)?;
        let results = self.batch_results(vec![stmt]).await?;
        Ok(results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .is_some_and(|n| n == 1))
    }

    /// `action` matches itself and the actions below it (`document`:
    /// `document.created`, …) by a range of keys, not `LIKE`: D1 refuses
    /// `LIKE` patterns over 50 bytes, and a filter's `%` or `_` would be
    /// wildcards.
    async fn list_audit(
        &self,
        tenant_id: &str,
        f: &Filter,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        let sql = "SELECT * FROM audit_log WHERE tenant_id = ?1 \
                   AND (?2 IS NULL OR seq < ?2) \
                   AND (?3 IS NULL OR action = ?3 OR (action >= ?3 || '.' AND action < ?3 || '/')) \
                   AND (?4 IS NULL OR actor = ?4) AND (?5 IS NULL OR resource = ?5) \
                   AND (?6 IS NULL OR outcome = ?6) AND (?7 IS NULL OR at >= ?7) \
                   AND (?8 IS NULL OR at < ?8) ORDER BY seq DESC LIMIT ?9";
        let args = [
            text(tenant_id),
            opt_num(before_seq),
            opt_text(f.action.as_deref()),
            opt_text(f.actor.as_deref()),
            opt_text(f.resource.as_deref()),
            opt_text(f.outcome.as_deref()),
            opt_num(f.since_ms),
            opt_num(f.until_ms),
            num(u64::from(limit)),
        ];
        let rows = self.all::<AuditRow>(sql, &args).await?;
        Ok(rows.into_iter().map(Entry::from).collect())
    }

    async fn erase_directory(&self, t: &crate::tenants::Tombstone) -> StoreResult<u64> {
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let args = [text(&t.tenant_id)];
        let count = self
            .first::<Count>(
                "SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ?1",
                &args,
            )
            .await?
            .map_or(0, |c| c.n as u64);
        // The tombstone first (with the tenant's users and identity
        // provider, one transaction in the directory), then the audit
        // entries in the tenant's shard, whose guard lets them go by the
        // release written and removed in the same transaction there.
        let tombstone = self.stmt(
            "INSERT OR IGNORE INTO tenant_tombstones (tenant_id, requested_at, erased_at, \
             objects_deleted, audit_entries, audit_head) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                text(&t.tenant_id),
                num(t.requested_at_ms),
                num(t.erased_at_ms),
                num(t.objects_deleted),
                num(count),
                opt_text(t.audit_head.as_deref()),
            ],
        )?;
        let mut statements = vec![tombstone];
        for table in ["users", "identity_providers"] {
            statements
                .push(self.stmt(&format!("DELETE FROM {table} WHERE tenant_id = ?1"), &args)?);
        }
        self.batch_results(statements).await?;
        self.batch_results(vec![
            self.stmt(
                "INSERT OR IGNORE INTO audit_releases (tenant_id) VALUES (?1)",
                &args,
            )?,
            self.stmt("DELETE FROM audit_log WHERE tenant_id = ?1", &args)?,
            self.stmt("DELETE FROM audit_releases WHERE tenant_id = ?1", &args)?,
        ])
        .await?;
        Ok(count)
    }

    async fn audit_after(
        &self,
        tenant_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        let sql = "SELECT * FROM audit_log WHERE tenant_id = ?1 AND seq > ?2 \
                   ORDER BY seq LIMIT ?3";
        let args = [text(tenant_id), num(after_seq), num(u64::from(limit))];
        let rows = self.all::<AuditRow>(sql, &args).await?;
        Ok(rows.into_iter().map(Entry::from).collect())
    }
}

impl D1Meta {
    /// The insert of one audit entry; OR IGNORE: a stored seq is this
    /// entry, written by an earlier try (the tenant's gate numbers them).
    fn audit_insert(&self, e: &Entry) -> StoreResult<super::d1::Stmt> {
        let sql = "INSERT OR IGNORE INTO audit_log (tenant_id, seq, at, actor, via, action, \
                   resource, outcome, ip, request_id, detail, prev_hash, hash) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        let args = [
            text(&e.tenant_id),
            num(e.seq),
            num(e.at_ms),
            text(&e.actor),
            opt_text(e.via.as_deref()),
            text(&e.action),
            opt_text(e.resource.as_deref()),
            text(&e.outcome),
            opt_text(e.ip.as_deref()),
            opt_text(e.request_id.as_deref()),
            opt_text(e.detail.as_deref()),
            text(&e.prev_hash),
            text(&e.hash),
        ];
        self.stmt(sql, &args)
    }

    /// Writes several audit entries in one round trip (one transaction).
    pub async fn insert_audit_batch(&self, entries: &[Entry]) -> StoreResult<()> {
        let statements = entries
            .iter()
            .map(|e| self.audit_insert(e))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_results(statements).await.map(|_| ())
    }
}
