//! D1Meta: shards: the shard entered, placement counts, and a tenant's
//! move between shards (copy, count, drop).

use super::*;
use crate::ports::ShardStore;
use crate::tenants::shards::TENANT_TABLES;
use serde_json::{Map, Value};

/// Rows read per page when copying.
const PAGE: u32 = 100;

/// Which of a tenant table's rows are the tenant's (`?1` = tenant id).
fn rows_of(table: &str) -> &'static str {
    if table == "upload_parts" {
        "upload_id IN (SELECT id FROM uploads WHERE tenant_id = ?1)"
    } else {
        "tenant_id = ?1"
    }
}

fn js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_f64(f64::from(u8::from(*b))),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JsValue::from_str(s),
        other => JsValue::from_str(&other.to_string()),
    }
}

#[derive(Deserialize)]
struct Count {
    n: f64,
}

impl D1Meta {
    /// The databases, with the tenant's shard entered (shard 0 for a
    /// tenant the directory no longer has: where its entries went before).
    pub async fn for_tenant(
        env: &worker::Env,
        obs: super::super::observe::Obs,
        tenant_id: &str,
    ) -> worker::Result<D1Meta> {
        #[derive(Deserialize)]
        struct Row {
            shard: f64,
        }
        let meta = D1Meta(Databases::of(env)?, obs);
        let sql = "SELECT shard FROM tenants WHERE id = ?1";
        let shard = meta
            .first::<Row>(sql, &[text(tenant_id)])
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?
            .map_or(0, |r| r.shard as u32);
        meta.0.enter(shard);
        Ok(meta)
    }

    /// The tenant's directory row, written into shard `to` too: the
    /// shard's tables reference `tenants(id)`.
    pub(super) async fn anchor(&self, tenant_id: &str, to: u32) -> StoreResult<()> {
        if to == 0 {
            return Ok(());
        }
        let sql = "SELECT id, name, created_at, plan, status FROM tenants WHERE id = ?1";
        let rows: Vec<Map<String, Value>> = self.all(sql, &[text(tenant_id)]).await?;
        let Some(row) = rows.first() else {
            return Err(StoreError::Permanent(format!("no tenant {tenant_id}")));
        };
        let args: Vec<JsValue> = ["id", "name", "created_at", "plan", "status"]
            .iter()
            .map(|c| js(row.get(*c).unwrap_or(&Value::Null)))
            .collect();
        let put = self.stmt_on(
            to,
            "INSERT OR IGNORE INTO tenants (id, name, created_at, plan, status) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &args,
        )?;
        self.batch(vec![put]).await
    }

    /// Copies one table's rows of the tenant; rows copied.
    async fn copy_table(
        &self,
        table: &str,
        tenant_id: &str,
        (from, to): (u32, u32),
        only_missing: bool,
    ) -> StoreResult<u64> {
        let read = format!(
            "SELECT rowid AS __rowid, * FROM {table} WHERE {} AND rowid > ?2 \
             ORDER BY rowid LIMIT ?3",
            rows_of(table)
        );
        // Audit entries never change: one already there is kept.
        let verb = if only_missing || table == "audit_log" {
            "INSERT OR IGNORE"
        } else {
            "INSERT OR REPLACE"
        };
        let (mut after, mut copied) = (0.0_f64, 0_u64);
        loop {
            let args = [
                text(tenant_id),
                JsValue::from_f64(after),
                num(u64::from(PAGE)),
            ];
            let stmt = self.stmt_on(from, &read, &args)?.inner;
            let rows: Vec<Map<String, Value>> = self.all_of(&read, stmt).await?;
            let mut writes = Vec::with_capacity(rows.len());
            for mut row in rows.iter().cloned() {
                after = row
                    .remove("__rowid")
                    .and_then(|v| v.as_f64())
                    .unwrap_or(after);
                let columns: Vec<&String> = row.keys().collect();
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
                let sql = format!(
                    "{verb} INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                );
                let values: Vec<JsValue> = row.values().map(js).collect();
                writes.push(self.stmt_on(to, &sql, &values)?);
            }
            let n = writes.len() as u64;
            if n > 0 {
                // One transaction per page: a page is there whole or not.
                self.batch(writes).await?;
            }
            copied += n;
            if n < u64::from(PAGE) {
                return Ok(copied);
            }
        }
    }
}

impl ShardStore for D1Meta {
    fn shard_count(&self) -> u32 {
        self.0.len()
    }

    fn enter(&self, shard: u32) {
        self.0.enter(shard);
    }

    fn entered(&self) -> u32 {
        self.0.entered().unwrap_or(0)
    }

    async fn shard_loads(&self) -> StoreResult<Vec<u64>> {
        #[derive(Deserialize)]
        struct Row {
            shard: f64,
            n: f64,
        }
        let sql = "SELECT shard, COUNT(*) AS n FROM tenants GROUP BY shard";
        let mut loads = vec![0; self.0.len() as usize];
        for r in self.all::<Row>(sql, &[]).await? {
            if let Some(slot) = loads.get_mut(r.shard as usize) {
                *slot = r.n as u64;
            }
        }
        Ok(loads)
    }

    async fn begin_move(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE tenants SET moving_since = ?2 WHERE id = ?1 AND moving_since IS NULL";
        Ok(self.run(sql, &[text(tenant_id), num(now_ms)]).await? == 1)
    }

    async fn busy(&self, tenant_id: &str) -> StoreResult<u64> {
        let sql = "SELECT (SELECT COUNT(*) FROM jobs WHERE tenant_id = ?1 \
                   AND status IN ('queued', 'running')) \
                   + (SELECT COUNT(*) FROM uploads WHERE tenant_id = ?1) \
                   + (SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = ?1 \
                   AND status = 'pending') AS n";
        Ok(self
            .first::<Count>(sql, &[text(tenant_id)])
            .await?
            .map_or(0, |c| c.n as u64))
    }

    async fn end_move(&self, tenant_id: &str, to: Option<u32>) -> StoreResult<()> {
        let sql =
            "UPDATE tenants SET moving_since = NULL, shard = COALESCE(?2, shard) WHERE id = ?1";
        let to = to.map_or(JsValue::NULL, |t| num(u64::from(t)));
        self.run(sql, &[text(tenant_id), to]).await.map(|_| ())
    }

    async fn copy_tenant(
        &self,
        tenant_id: &str,
        from: u32,
        to: u32,
        only_missing: bool,
    ) -> StoreResult<Vec<(String, u64)>> {
        self.anchor(tenant_id, to).await?;
        let mut copied = Vec::new();
        for table in TENANT_TABLES {
            let n = self
                .copy_table(table, tenant_id, (from, to), only_missing)
                .await?;
            copied.push((table.to_string(), n));
        }
        Ok(copied)
    }

    async fn count_tenant(&self, tenant_id: &str, shard: u32) -> StoreResult<Vec<(String, u64)>> {
        let mut counts = Vec::new();
        for table in TENANT_TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {}", rows_of(table));
            let stmt = self.stmt_on(shard, &sql, &[text(tenant_id)])?.inner;
            let n = self
                .all_of::<Count>(&sql, stmt)
                .await?
                .first()
                .map_or(0, |c| c.n as u64);
            counts.push((table.to_string(), n));
        }
        Ok(counts)
    }

    async fn drop_tenant(&self, tenant_id: &str, shard: u32) -> StoreResult<()> {
        let args = [text(tenant_id)];
        let on = |sql: &str| self.stmt_on(shard, sql, &args);
        // The release lets the audit entries go; it goes in the same
        // transaction, so nothing else can use it.
        let mut statements = vec![on(
            "INSERT OR IGNORE INTO audit_releases (tenant_id) VALUES (?1)",
        )?];
        for table in TENANT_TABLES.iter().rev() {
            statements.push(on(&format!(
                "DELETE FROM {table} WHERE {}",
                rows_of(table)
            ))?);
        }
        statements.push(on("DELETE FROM audit_releases WHERE tenant_id = ?1")?);
        if shard != 0 {
            statements.push(on("DELETE FROM tenants WHERE id = ?1")?);
        }
        self.batch(statements).await
    }
}
