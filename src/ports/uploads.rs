//! Resumable uploads and their parts (D1 `uploads`, `upload_parts`).

use super::StoreResult;

pub trait UploadStore {
    async fn insert_upload(&self, upload: &crate::uploads::Upload) -> StoreResult<()>;

    async fn get_upload(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::uploads::Upload>>;

    /// Records a received part (a re-sent part replaces the earlier one)
    /// and marks the upload active at `now_ms`.
    async fn put_upload_part(
        &self,
        upload_id: &str,
        part: &crate::uploads::Part,
        now_ms: u64,
    ) -> StoreResult<()>;

    async fn list_upload_parts(&self, upload_id: &str) -> StoreResult<Vec<crate::uploads::Part>>;

    /// Moves the running hash from `hashed_parts` to `hashed_parts + 1`;
    /// false when another request moved it first.
    async fn advance_upload_hash(
        &self,
        upload_id: &str,
        hashed_parts: u32,
        state: &str,
    ) -> StoreResult<bool>;

    /// Deletes an upload and its parts; false when it was gone.
    async fn delete_upload(&self, tenant_id: &str, id: &str) -> StoreResult<bool>;

    /// Uploads untouched since `before_ms`, oldest first.
    async fn idle_uploads(
        &self,
        before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::uploads::Upload>>;

    /// Whether an unfinished upload will become this document.
    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool>;
}
