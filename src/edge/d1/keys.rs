//! D1Meta: aPI keys (D1 `api_keys`), found by their hash.

use super::*;

impl KeyStore for D1Meta {
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

    async fn insert_key(&self, k: &ApiKey) -> StoreResult<()> {
        let stmt = self.insert_key_stmt(k)?;
        self.1
            .call("d1", "INSERT api_keys", stmt.inner.run())
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
}
