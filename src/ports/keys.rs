//! API keys (D1 `api_keys`), found by their hash.

use super::StoreResult;
use crate::auth::ApiKey;

pub trait KeyStore {
    async fn find_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>>;

    async fn insert_key(&self, key: &ApiKey) -> StoreResult<()>;

    async fn list_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKey>>;

    /// Marks a key revoked; false when no live key of the tenant has that id.
    async fn revoke_key(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool>;

    async fn get_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKey>>;

    /// Stores `new` and marks the old key replaced by it, expiring at
    /// `old_expires_at_ms`, in one transaction. False when the old key is
    /// not live and unrotated (nothing is stored then).
    async fn rotate_key(
        &self,
        tenant_id: &str,
        old_id: &str,
        new: &ApiKey,
        old_expires_at_ms: u64,
    ) -> StoreResult<bool>;

    /// Records a use of the key, unless one was recorded after `since_ms`
    /// (so a busy key costs one write a minute, not one per request).
    async fn touch_key(&self, id: &str, now_ms: u64, since_ms: u64) -> StoreResult<()>;
}
