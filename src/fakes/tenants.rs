//! MemMeta: tenants and their erasure (D1 `tenants`).

use super::*;

impl TenantStore for MemMeta {
    async fn insert_tenant(
        &self,
        tenant: &crate::tenants::Tenant,
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

    async fn list_tenants(&self) -> StoreResult<Vec<crate::tenants::Tenant>> {
        self.faults.check()?;
        Ok(self.tenants.borrow().values().cloned().collect())
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<crate::tenants::Tenant>> {
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
        changes: &crate::tenants::UpdateTenant,
    ) -> StoreResult<Option<crate::tenants::Tenant>> {
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
