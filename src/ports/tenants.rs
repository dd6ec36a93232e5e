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

/// Where tenants' data lives: one of the directory's shards (see
/// [`crate::tenants::shards`]). Tenant queries go to the shard entered
/// last; the directory's own tables are always at hand.
pub trait ShardStore {
    /// How many shards there are (1 when unsharded).
    fn shard_count(&self) -> u32 {
        1
    }

    /// Sends the tenant queries that follow to shard `n`.
    fn enter(&self, _shard: u32) {}

    /// The shard entered (0 before any).
    fn entered(&self) -> u32 {
        0
    }

    /// Tenants per shard (one count per shard).
    async fn shard_loads(&self) -> StoreResult<Vec<u64>>;

    /// Starts a move: the tenant's writes are refused from now on. False
    /// when the tenant is unknown or already moving.
    async fn begin_move(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool>;

    /// Work of the tenant in flight in the shard entered, which a move
    /// must not cut in two: jobs queued or running, uploads open,
    /// webhook deliveries pending.
    async fn busy(&self, tenant_id: &str) -> StoreResult<u64>;

    /// Ends a move: the directory points at `to` (when given) and the
    /// tenant may write again.
    async fn end_move(&self, tenant_id: &str, to: Option<u32>) -> StoreResult<()>;

    /// Copies the tenant's rows of every tenant table from shard `from` to
    /// shard `to`: all of them (replacing what `to` has), or only those
    /// `to` lacks. Rows copied, per table.
    async fn copy_tenant(
        &self,
        tenant_id: &str,
        from: u32,
        to: u32,
        only_missing: bool,
    ) -> StoreResult<Vec<(String, u64)>>;

    /// The tenant's rows per tenant table in a shard.
    async fn count_tenant(&self, tenant_id: &str, shard: u32) -> StoreResult<Vec<(String, u64)>>;

    /// Deletes the tenant's rows from a shard it no longer lives on
    /// (its audit entries included, which only this may delete).
    async fn drop_tenant(&self, tenant_id: &str, shard: u32) -> StoreResult<()>;
}
