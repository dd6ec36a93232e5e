//! MemMeta: documents and their shares (D1 `documents`, `document_shares`).

use super::*;

impl DocumentStore for MemMeta {
    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>> {
        self.faults.check()?;
        Ok(self
            .shares
            .borrow()
            .iter()
            .filter(|(t, _)| t == tenant_id)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn list_shares(&self, tenant_id: &str, document_id: &str) -> StoreResult<Vec<Share>> {
        self.faults.check()?;
        Ok(self
            .shares
            .borrow()
            .iter()
            .filter(|(t, s)| t == tenant_id && s.document_id == document_id)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn put_share(&self, tenant_id: &str, share: &Share) -> StoreResult<()> {
        self.faults.check()?;
        let mut shares = self.shares.borrow_mut();
        shares.retain(|(_, s)| !(s.document_id == share.document_id && s.grantee == share.grantee));
        shares.push((tenant_id.to_string(), share.clone()));
        Ok(())
    }

    async fn delete_share(
        &self,
        tenant_id: &str,
        document_id: &str,
        grantee: &Grantee,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut shares = self.shares.borrow_mut();
        let before = shares.len();
        shares.retain(|(t, s)| {
            !(t == tenant_id && s.document_id == document_id && s.grantee == *grantee)
        });
        Ok(shares.len() < before)
    }

    async fn documents_to_verify(&self, before_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let verified = self.verified.borrow();
        let mut docs: Vec<Document> = self
            .documents
            .borrow()
            .values()
            .filter(|d| d.created_at_ms < before_ms)
            .cloned()
            .collect();
        docs.sort_by_key(|d| verified.get(&d.id).copied());
        docs.truncate(limit as usize);
        Ok(docs)
    }

    async fn mark_verified(
        &self,
        _tenant_id: &str,
        id: &str,
        now_ms: u64,
        missing: bool,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.verified.borrow_mut().insert(id.to_string(), now_ms);
        if let Some(d) = self.documents.borrow_mut().get_mut(id) {
            d.missing_at_ms = if missing {
                d.missing_at_ms.or(Some(now_ms))
            } else {
                None
            };
        }
        Ok(())
    }

    async fn insert_document(&self, doc: &Document, key: Option<&str>) -> StoreResult<()> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.claim_idempotency_key("doc", &doc.tenant_id, key, &doc.id, |id| {
            self.documents.borrow().contains_key(id)
        })?;
        self.documents
            .borrow_mut()
            .insert(doc.id.clone(), doc.clone());
        self.ack()
    }

    async fn document_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> StoreResult<Option<Document>> {
        self.faults.check()?;
        let id = self.id_for_key("doc", tenant_id, key);
        Ok(id.and_then(|id| self.documents.borrow().get(&id).cloned()))
    }

    async fn expired_documents(&self, now_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs
            .values()
            .filter(|d| d.expires_at_ms.is_some_and(|e| e <= now_ms))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn get_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs.get(id).filter(|d| d.tenant_id == tenant_id).cloned())
    }

    async fn list_documents(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
        visibility: Option<&Visibility>,
    ) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        let shares = self.shares.borrow();
        let visible = |d: &Document| {
            visibility.is_none_or(|v| {
                let of_doc: Vec<Share> = shares
                    .iter()
                    .filter(|(t, s)| *t == d.tenant_id && s.document_id == d.id)
                    .map(|(_, s)| s.clone())
                    .collect();
                v.admits(d.owner.as_deref(), &of_doc)
            })
        };
        Ok(docs
            .values()
            .rev()
            .filter(|d| d.tenant_id == tenant_id && before.is_none_or(|b| d.id.as_str() < b))
            .filter(|d| visible(d))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn count_documents_with_sha256(&self, tenant_id: &str, sha256: &str) -> StoreResult<u64> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs
            .values()
            .filter(|d| d.tenant_id == tenant_id && d.sha256 == sha256)
            .count() as u64)
    }

    async fn delete_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<Job>>> {
        self.faults.check()?;
        let mut docs = self.documents.borrow_mut();
        if docs.get(id).is_none_or(|d| d.tenant_id != tenant_id) {
            return Ok(None);
        }
        docs.remove(id);
        self.shares
            .borrow_mut()
            .retain(|(_, s)| s.document_id != id);
        let mut jobs = self.jobs.borrow_mut();
        let gone: Vec<Job> = jobs
            .values()
            .filter(|j| j.document_id == id)
            .cloned()
            .collect();
        jobs.retain(|_, j| j.document_id != id);
        Ok(Some(gone))
    }
}
