//! MemMeta: aPI keys (D1 `api_keys`), found by their hash.

use super::*;

impl KeyStore for MemMeta {
    async fn find_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        self.faults.check()?;
        let tenants = self.tenants.borrow();
        Ok(self
            .keys
            .borrow()
            .iter()
            .find(|k| k.hash == hash)
            .cloned()
            .map(|mut k| {
                if let Some(t) = tenants.get(&k.tenant_id) {
                    k.plan = t.plan.clone();
                    k.tenant_active = t.status == "active";
                    k.tenant_retention_days = t.retention_days;
                    k.tenant_shard = t.shard;
                    k.tenant_moving = t.moving_since_ms.is_some();
                }
                k
            }))
    }

    async fn insert_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.faults.check()?;
        self.keys.borrow_mut().push(key.clone());
        Ok(())
    }

    async fn list_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKey>> {
        self.faults.check()?;
        let keys = self.keys.borrow();
        Ok(keys
            .iter()
            .filter(|k| k.tenant_id == tenant_id)
            .cloned()
            .collect())
    }

    async fn revoke_key(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        let key = keys
            .iter_mut()
            .find(|k| k.tenant_id == tenant_id && k.id == id && k.revoked_at_ms.is_none());
        Ok(key.map(|k| k.revoked_at_ms = Some(now_ms)).is_some())
    }

    async fn get_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKey>> {
        self.faults.check()?;
        let keys = self.keys.borrow();
        Ok(keys
            .iter()
            .find(|k| k.tenant_id == tenant_id && k.id == id)
            .cloned())
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        old_id: &str,
        new: &ApiKey,
        old_expires_at_ms: u64,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        let Some(old) = keys.iter_mut().find(|k| {
            k.tenant_id == tenant_id
                && k.id == old_id
                && k.revoked_at_ms.is_none()
                && k.rotated_to.is_none()
        }) else {
            return Ok(false);
        };
        old.rotated_to = Some(new.id.clone());
        old.expires_at_ms = Some(
            old.expires_at_ms
                .map_or(old_expires_at_ms, |e| e.min(old_expires_at_ms)),
        );
        keys.push(new.clone());
        Ok(true)
    }

    async fn touch_key(&self, id: &str, now_ms: u64, since_ms: u64) -> StoreResult<()> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        if let Some(k) = keys.iter_mut().find(|k| k.id == id) {
            if k.last_used_at_ms.is_none_or(|t| t < since_ms) {
                k.last_used_at_ms = Some(now_ms);
            }
        }
        Ok(())
    }
}
