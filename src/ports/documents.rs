//! Documents and their shares (D1 `documents`, `document_shares`).

use super::StoreResult;
use crate::auth::access::Grantee;
use crate::auth::access::Share;
use crate::auth::access::Visibility;
use crate::documents::Document;
use crate::jobs::Job;

pub trait DocumentStore {
    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>>;

    /// Documents whose object was checked longest ago (never first),
    /// created before `before_ms`.
    async fn documents_to_verify(&self, before_ms: u64, limit: u32) -> StoreResult<Vec<Document>>;

    /// Records a check of a document's object: found or missing.
    async fn mark_verified(
        &self,
        tenant_id: &str,
        id: &str,
        now_ms: u64,
        missing: bool,
    ) -> StoreResult<()>;

    /// Inserts a document row, with the Idempotency-Key it was created
    /// under if any (at most one row per tenant and key).
    async fn insert_document(
        &self,
        doc: &Document,
        idempotency_key: Option<&str>,
    ) -> StoreResult<()>;

    /// The document created under this Idempotency-Key, if any.
    async fn document_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> StoreResult<Option<Document>>;

    /// Documents of any tenant whose `expires_at` has passed, oldest first.
    async fn expired_documents(&self, now_ms: u64, limit: u32) -> StoreResult<Vec<Document>>;

    async fn get_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Document>>;

    /// Newest first; `before` is the id of the last document of the previous
    /// page. With a visibility, only the documents it admits.
    async fn list_documents(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
        visibility: Option<&Visibility>,
    ) -> StoreResult<Vec<Document>>;

    async fn list_shares(&self, tenant_id: &str, document_id: &str) -> StoreResult<Vec<Share>>;

    /// Creates or replaces the share of the document with its grantee.
    async fn put_share(&self, tenant_id: &str, share: &Share) -> StoreResult<()>;

    /// False when there was no such share.
    async fn delete_share(
        &self,
        tenant_id: &str,
        document_id: &str,
        grantee: &Grantee,
    ) -> StoreResult<bool>;

    /// How many of the tenant's documents have these exact bytes.
    async fn count_documents_with_sha256(&self, tenant_id: &str, sha256: &str) -> StoreResult<u64>;

    /// Deletes the document row, its shares and its jobs' rows in one
    /// transaction and
    /// returns the deleted jobs (their result blobs are the caller's to remove).
    async fn delete_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<Job>>>;
}
