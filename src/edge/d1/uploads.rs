//! D1Meta: resumable uploads and their parts (D1 `uploads`, `upload_parts`).

use super::*;

impl UploadStore for D1Meta {
    async fn insert_upload(&self, upload: &crate::uploads::Upload) -> StoreResult<()> {
        self.insert_upload_row(upload).await
    }

    async fn get_upload(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::uploads::Upload>> {
        Ok(self
            .upload_where("id = ?1 AND tenant_id = ?2", &[text(id), text(tenant_id)])
            .await?
            .into_iter()
            .next())
    }

    async fn put_upload_part(
        &self,
        upload_id: &str,
        part: &crate::uploads::Part,
        now_ms: u64,
    ) -> StoreResult<()> {
        self.put_part_row(upload_id, part, now_ms).await
    }

    async fn list_upload_parts(&self, upload_id: &str) -> StoreResult<Vec<crate::uploads::Part>> {
        self.part_rows(upload_id).await
    }

    async fn advance_upload_hash(
        &self,
        upload_id: &str,
        hashed_parts: u32,
        state: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE uploads SET hash_state = ?3, hashed_parts = ?2 + 1 \
                   WHERE id = ?1 AND hashed_parts = ?2";
        let changed = self
            .run(
                sql,
                &[text(upload_id), num(u64::from(hashed_parts)), text(state)],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn delete_upload(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        self.delete_upload_rows(tenant_id, id).await
    }

    async fn idle_uploads(
        &self,
        before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::uploads::Upload>> {
        self.upload_where(
            "updated_at < ?1 ORDER BY updated_at LIMIT ?2",
            &[num(before_ms), num(u64::from(limit))],
        )
        .await
    }

    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool> {
        Ok(!self
            .upload_where(
                "tenant_id = ?1 AND document_id = ?2 LIMIT 1",
                &[text(tenant_id), text(document_id)],
            )
            .await?
            .is_empty())
    }
}
