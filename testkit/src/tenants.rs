//! MemMeta: tenants and their erasure (D1 `tenants`).

use super::*;

impl TenantStore for MemMeta {
    async fn insert_tenant(
        &self,
        tenant: &quire::tenants::Tenant,
        owner: &ApiKey,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.tenants
            .borrow_mut()
            .insert(tenant.id.clone(), tenant.clone());
        self.keys.borrow_mut().push(owner.clone());
        Ok(())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<quire::tenants::Tenant>> {
        self.faults.check()?;
        Ok(self.tenants.borrow().values().cloned().collect())
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<quire::tenants::Tenant>> {
        self.faults.check()?;
        Ok(self.tenants.borrow().get(id).cloned())
    }

    async fn request_erase(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut tenants = self.tenants.borrow_mut();
        let Some(t) = tenants.get_mut(tenant_id) else {
            return Ok(false);
        };
        t.status = "suspended".into();
        self.erasing
            .borrow_mut()
            .entry(tenant_id.to_string())
            .or_insert(now_ms);
        Ok(true)
    }

    async fn tenants_to_erase(&self, limit: u32) -> StoreResult<Vec<(String, u64)>> {
        self.faults.check()?;
        Ok(self
            .erasing
            .borrow()
            .iter()
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }

    async fn erase_tenant_rows(&self, tenant_id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.shares.borrow_mut().retain(|(t, _)| t != tenant_id);
        self.jobs
            .borrow_mut()
            .retain(|_, j| j.tenant_id != tenant_id);
        self.documents
            .borrow_mut()
            .retain(|_, d| d.tenant_id != tenant_id);
        self.keys.borrow_mut().retain(|k| k.tenant_id != tenant_id);
        self.tenants.borrow_mut().remove(tenant_id);
        self.erasing.borrow_mut().remove(tenant_id);
        Ok(())
    }

    async fn update_tenant(
        &self,
        id: &str,
        changes: &quire::tenants::UpdateTenant,
    ) -> StoreResult<Option<quire::tenants::Tenant>> {
        self.faults.check()?;
        let (plan, status) = (changes.plan.as_deref(), changes.status.as_deref());
        let mut tenants = self.tenants.borrow_mut();
        Ok(tenants.get_mut(id).map(|t| {
            match changes.retention_days {
                Some(-1) => t.retention_days = None,
                Some(d) => t.retention_days = Some(d as u64),
                None => {}
            }
            match changes.llm_tiers.as_deref() {
                Some("") => t.llm_tiers = None,
                Some(v) => t.llm_tiers = Some(v.to_string()),
                None => {}
            }
            if let Some(p) = plan {
                t.plan = p.to_string();
            }
            if let Some(s) = status {
                t.status = s.to_string();
            }
            t.clone()
        }))
    }
}

/// One database: every tenant is on shard 0 and there is nowhere to move.
impl quire::ports::ShardStore for MemMeta {
    async fn shard_loads(&self) -> StoreResult<Vec<u64>> {
        self.faults.check()?;
        Ok(vec![self.tenants.borrow().len() as u64])
    }

    async fn begin_move(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut tenants = self.tenants.borrow_mut();
        Ok(match tenants.get_mut(tenant_id) {
            Some(t) if t.moving_since_ms.is_none() => {
                t.moving_since_ms = Some(now_ms);
                true
            }
            _ => false,
        })
    }

    async fn busy(&self, tenant_id: &str) -> StoreResult<u64> {
        self.faults.check()?;
        Ok(self
            .jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == tenant_id && !j.status.is_terminal())
            .count() as u64)
    }

    async fn end_move(&self, tenant_id: &str, to: Option<u32>) -> StoreResult<()> {
        self.faults.check()?;
        if let Some(t) = self.tenants.borrow_mut().get_mut(tenant_id) {
            t.moving_since_ms = None;
            if let Some(to) = to {
                t.shard = to;
            }
        }
        Ok(())
    }

    async fn copy_tenant(
        &self,
        _tenant_id: &str,
        _from: u32,
        to: u32,
        _only_missing: bool,
    ) -> StoreResult<Vec<(String, u64)>> {
        Err(StoreError::Permanent(format!("no shard {to}")))
    }

    async fn count_tenant(&self, _tenant_id: &str, shard: u32) -> StoreResult<Vec<(String, u64)>> {
        Err(StoreError::Permanent(format!("no shard {shard}")))
    }

    async fn drop_tenant(&self, _tenant_id: &str, shard: u32) -> StoreResult<()> {
        Err(StoreError::Permanent(format!("no shard {shard}")))
    }
}
