//! MemMeta: resumable uploads and their parts (D1 `uploads`, `upload_parts`).

use super::*;

impl UploadStore for MemMeta {
    async fn insert_upload(&self, upload: &quire::uploads::Upload) -> StoreResult<()> {
        self.faults.check()?;
        self.uploads
            .borrow_mut()
            .insert(upload.id.clone(), (upload.clone(), BTreeMap::new()));
        Ok(())
    }

    async fn get_upload(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<quire::uploads::Upload>> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .get(id)
            .filter(|(u, _)| u.tenant_id == tenant_id)
            .map(|(u, _)| u.clone()))
    }

    async fn put_upload_part(
        &self,
        upload_id: &str,
        part: &quire::uploads::Part,
        now_ms: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        if let Some((u, parts)) = self.uploads.borrow_mut().get_mut(upload_id) {
            u.updated_at_ms = now_ms;
            parts.insert(part.number, part.clone());
        }
        Ok(())
    }

    async fn list_upload_parts(&self, upload_id: &str) -> StoreResult<Vec<quire::uploads::Part>> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .get(upload_id)
            .map(|(_, parts)| parts.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn advance_upload_hash(
        &self,
        upload_id: &str,
        hashed_parts: u32,
        state: &str,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut uploads = self.uploads.borrow_mut();
        match uploads.get_mut(upload_id) {
            Some((u, _)) if u.hashed_parts == hashed_parts => {
                u.hashed_parts += 1;
                u.hash_state = state.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_upload(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        let mut uploads = self.uploads.borrow_mut();
        if uploads
            .get(id)
            .is_some_and(|(u, _)| u.tenant_id == tenant_id)
        {
            uploads.remove(id);
            return Ok(true);
        }
        Ok(false)
    }

    async fn idle_uploads(
        &self,
        before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<quire::uploads::Upload>> {
        self.faults.check()?;
        let mut idle: Vec<_> = self
            .uploads
            .borrow()
            .values()
            .map(|(u, _)| u.clone())
            .filter(|u| u.updated_at_ms < before_ms)
            .collect();
        idle.sort_by_key(|u| u.updated_at_ms);
        idle.truncate(limit as usize);
        Ok(idle)
    }

    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .values()
            .any(|(u, _)| u.tenant_id == tenant_id && u.document_id == document_id))
    }
}
