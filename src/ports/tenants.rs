//! Tenants and their erasure (D1 `tenants`).

use super::StoreResult;
use crate::auth::ApiKey;

pub trait TenantStore {
    /// Creates a tenant and its first key together (one transaction).
    async fn insert_tenant(
        &self,
        tenant: &crate::tenants::Tenant,
        owner: &ApiKey,
    ) -> StoreResult<()>;

    async fn list_tenants(&self) -> StoreResult<Vec<crate::tenants::Tenant>>;

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<crate::tenants::Tenant>>;

    /// Marks the tenant for erasure and suspends it; false when unknown.
    async fn request_erase(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool>;

    /// Tenants waiting to be erased, with when it was asked.
    async fn tenants_to_erase(&self, limit: u32) -> StoreResult<Vec<(String, u64)>>;

    /// Deletes every remaining row of the tenant (shares, jobs, documents,
    /// webhook deliveries, keys, the tenant itself), in one transaction.
    async fn erase_tenant_rows(&self, tenant_id: &str) -> StoreResult<()>;

    /// Applies the changes; the updated tenant, or `None` when unknown.
    async fn update_tenant(
        &self,
        id: &str,
        changes: &crate::tenants::UpdateTenant,
    ) -> StoreResult<Option<crate::tenants::Tenant>>;
}
