//! D1Meta: tenants and their erasure (D1 `tenants`).

use super::*;

impl TenantStore for D1Meta {
    async fn insert_tenant(&self, t: &Tenant, owner: &ApiKey) -> StoreResult<()> {
        let tenant = self.stmt(
            "INSERT INTO tenants (id, name, created_at, plan, status, shard, data_region) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                text(&t.id),
                text(&t.name),
                num(t.created_at_ms),
                text(&t.plan),
                text(&t.status),
                num(u64::from(t.shard)),
                opt_text(t.data_region.as_deref()),
            ],
        )?;
        let key = self.insert_key_stmt(owner)?;
        // One batch is one transaction: no tenant without its owner key.
        self.batch_results(vec![tenant, key]).await?;
        self.anchor(&t.id, t.shard).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        let rows = self.all::<TenantRow>(&sql, &[]).await?;
        Ok(rows.into_iter().map(TenantRow::into_tenant).collect())
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1");
        Ok(self
            .first::<TenantRow>(&sql, &[text(id)])
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
        // The shard's rows first (one transaction there), then the
        // directory's: a pass cut short between them is run again.
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
        ] {
            statements
                .push(self.stmt(&format!("DELETE FROM {table} WHERE tenant_id = ?1"), &args)?);
        }
        // A shard's copy of the tenant row (the directory's goes below).
        let shard = crate::ports::ShardStore::entered(self);
        if shard != 0 {
            statements.push(self.stmt_on(shard, "DELETE FROM tenants WHERE id = ?1", &args)?);
        }
        self.batch_results(statements).await?;
        self.batch_results(vec![
            self.stmt("DELETE FROM api_keys WHERE tenant_id = ?1", &args)?,
            self.stmt("DELETE FROM tenants WHERE id = ?1", &args)?,
        ])
        .await?;
        Ok(())
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
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1");
        Ok(self
            .first::<TenantRow>(&sql, &[text(id)])
            .await?
            .map(TenantRow::into_tenant))
    }
}
