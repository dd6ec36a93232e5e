//! Ports: one small trait per outside system the core talks to.
//!
//! The edge implements them over D1, R2 and Queues; [`crate::fakes`] over
//! memory, for application tests. Futures need not be `Send` (one thread).

pub mod entropy;
pub mod error;

pub use crate::ops::jobstats::JobTiming;
pub use entropy::Entropy;
pub use error::{StoreError, StoreResult};

use crate::auth::access::{Grantee, Share, Visibility};
use crate::auth::{ApiKey, User};
use crate::documents::Document;
use crate::jobs::{CommandState, Job, JobError, JobMessage};
use crate::webhooks::{Delivery, WebhookMessage};

/// Object storage for document bytes and job results (R2).
pub trait BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// One page of keys under `prefix` with their upload time, and the
    /// cursor of the next page.
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)>;
    /// Cheap liveness probe for `/ready`.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether an object exists (without reading it).
    async fn exists(&self, key: &str) -> StoreResult<bool> {
        Ok(self.get(key).await?.is_some())
    }
    /// Moves the object's data key to the active master key; false when
    /// there was nothing to do (already current, or a store that does not
    /// encrypt).
    async fn rewrap(&self, _key: &str) -> StoreResult<bool> {
        Ok(false)
    }
    /// Bytes `offset .. offset + len` of an object whose content is `size`
    /// bytes long (the caller's record of it). An encrypting store counts
    /// in plaintext and reads only the segments it needs; this default
    /// reads the whole object.
    /// Starts a multipart object of `size` content bytes in parts of
    /// `part_size` (all but the last); the store's upload id.
    async fn start_multipart(&self, key: &str, size: u64, part_size: u64) -> StoreResult<String>;
    /// Stores part `n` (1-based) of content bytes; its etag.
    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String>;
    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()>;
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()>;
    async fn read_range(
        &self,
        key: &str,
        size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        let _ = size;
        Ok(self.get(key).await?.map(|all| {
            let from = (offset as usize).min(all.len());
            let to = (offset.saturating_add(len) as usize).min(all.len());
            all[from..to].to_vec()
        }))
    }
}

/// Metadata storage (D1). Every tenant-facing query takes the tenant id.
pub trait MetaStore {
    async fn ping(&self) -> StoreResult<()>;

    async fn find_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
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
    /// All the tenant's jobs and shares, for the export.
    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>>;
    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>>;
    /// Applies the changes; the updated tenant, or `None` when unknown.
    async fn update_tenant(
        &self,
        id: &str,
        changes: &crate::tenants::UpdateTenant,
    ) -> StoreResult<Option<crate::tenants::Tenant>>;
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
    /// Whether an unfinished upload will become this document.
    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool>;

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

    /// Queued + running jobs: (of this tenant, of all tenants).
    /// Jobs that can still run, the tenant's and everyone's: `running`
    /// under a live lease, or `queued` and changed since `queued_since_ms`
    /// (older queued rows are the sweeper's to re-send or end, and never
    /// hold a tenant's place).
    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)>;
    /// Inserts a job row, with the Idempotency-Key it was created under if
    /// any (at most one row per tenant and key).
    async fn insert_job(&self, job: &Job, idempotency_key: Option<&str>) -> StoreResult<()>;
    /// The job created under this Idempotency-Key, if any.
    async fn job_by_idempotency_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Job>>;
    async fn delete_job(&self, tenant_id: &str, id: &str) -> StoreResult<()>;
    async fn get_job(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Job>>;
    /// Loads a job by id alone: only for the queue consumer, which has no tenant.
    async fn load_job(&self, id: &str) -> StoreResult<Option<Job>>;
    /// Counts one queue delivery of the job.
    async fn record_delivery(&self, id: &str) -> StoreResult<()>;
    /// Atomically moves a job to `running` when it is `queued`, or `running`
    /// with an expired lease. True when this caller won the claim.
    async fn claim_job(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> StoreResult<bool>;
    /// Records overall and per-command progress of a running job.
    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        now_ms: u64,
    ) -> StoreResult<()>;
    /// `queued`/`running` → `cancelled`; false when the job is not pending.
    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool>;
    /// `running` → `succeeded`, storing where the results are.
    async fn complete_job(&self, id: &str, now_ms: u64) -> StoreResult<()>;
    /// `running` → `failed` with a typed error.
    async fn fail_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()>;
    /// Jobs that stopped moving: `running` with an expired lease (the worker
    /// died mid-job), or `queued` with no change since `queued_before_ms`
    /// (its message was lost).
    async fn stalled_jobs(
        &self,
        now_ms: u64,
        queued_before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::Stalled>>;
    /// A stalled job back to `queued` (to be sent again), counting the
    /// re-send; false when it moved meanwhile.
    async fn requeue_stalled(&self, id: &str, now_ms: u64) -> StoreResult<bool>;
    /// A stalled job to `failed`; false when it moved meanwhile.
    async fn fail_stalled(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<bool>;
    /// Keeps a dead letter (once per message id).
    async fn insert_dead_letter(&self, d: &crate::jobs::DeadLetter) -> StoreResult<()>;
    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<crate::jobs::DeadLetter>>;
    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<crate::jobs::DeadLetter>>;
    /// Marks it replayed; false when it already was (replays are idempotent).
    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool>;
    /// A job failed by the dead-letter queue back to `queued` with fresh
    /// attempts; false when it is not in that state.
    async fn revive_job(&self, id: &str, now_ms: u64) -> StoreResult<bool>;
    /// `running` → `queued` again after a retryable failure.
    async fn release_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()>;
}

/// A tenant's identity provider as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpRecord {
    pub tenant_id: String,
    /// [`crate::auth::jwt::IdpConfig`] as JSON.
    pub config: String,
    /// The last JWKS fetched from its `jwks_url`, as JSON.
    pub jwks: Option<String>,
    pub jwks_fetched_at_ms: Option<u64>,
}

/// Users, identity providers and the audit log (D1).
pub trait Directory {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>>;
    async fn find_user_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> StoreResult<Option<User>>;
    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>>;
    /// Stores the user's role, status and name; false when unknown.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;

    async fn put_idp(
        &self,
        tenant_id: &str,
        issuer: &str,
        config: &str,
        now_ms: u64,
    ) -> StoreResult<()>;
    async fn get_idp(&self, tenant_id: &str) -> StoreResult<Option<IdpRecord>>;
    async fn idps_by_issuer(&self, issuer: &str) -> StoreResult<Vec<IdpRecord>>;
    async fn delete_idp(&self, tenant_id: &str) -> StoreResult<bool>;
    /// Records a JWKS fetch attempt (`jwks` is kept when `None`).
    async fn save_jwks(&self, tenant_id: &str, jwks: Option<&str>, at_ms: u64) -> StoreResult<()>;

    /// The tenant's last audit entry: (seq, hash).
    async fn audit_head(&self, tenant_id: &str) -> StoreResult<Option<(u64, String)>>;
    /// Stores an entry numbered by the tenant's gate; false when its seq
    /// is already stored (a retried write: the entry is there).
    async fn insert_audit(&self, entry: &crate::audit::Entry) -> StoreResult<bool>;
    /// Newest first, before `before_seq`, matching the filter.
    async fn list_audit(
        &self,
        tenant_id: &str,
        filter: &crate::audit::Filter,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<crate::audit::Entry>>;
    /// Writes the tenant's tombstone (idempotent), then deletes its audit
    /// log, users and identity provider. Returns the audit entries deleted.
    async fn erase_directory(&self, tombstone: &crate::tenants::Tombstone) -> StoreResult<u64>;
    /// Oldest first, after `after_seq`.
    async fn audit_after(
        &self,
        tenant_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::audit::Entry>>;
}

/// Outbound HTTP: GETs (JWKS documents) and POSTs (alerts).
pub trait HttpClient {
    /// The status and body, or why there is none.
    async fn get(&self, url: &str) -> Result<(u16, String), String>;
    /// POSTs a body; the response status, or why there is none.
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String>;
}

/// Metrics rollups, SLO alerts and backups (D1).
pub trait OpsStore {
    /// Adds rollups to what is stored for their minute and route.
    async fn add_metrics(&self, rollups: &[crate::ops::metrics::Rollup]) -> StoreResult<()>;
    /// Per-route stats summed over the minutes from `from_minute` on.
    async fn metrics_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<(String, crate::ops::metrics::Stats)>>;
    /// Deletes rollups older than `before_minute`; how many rows went.
    async fn prune_metrics(&self, before_minute: u64) -> StoreResult<u64>;
    /// Jobs that ended in `[from_ms, to_ms)`, oldest end first, at most `limit`.
    async fn finished_jobs(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<JobTiming>>;
    /// Stores a job rollup pass at once: its rows replace those stored for
    /// the same minute and name (model), and `upto_minute` becomes the mark.
    async fn put_job_rollups(
        &self,
        rows: &[crate::ops::metrics::Rollup],
        llm: &[crate::ops::jobstats::LlmRollup],
        upto_minute: u64,
    ) -> StoreResult<()>;
    /// Where the last job rollup pass stopped (exclusive minute).
    async fn job_rollup_mark(&self) -> StoreResult<Option<u64>>;
    /// LLM rollups summed per model over the minutes from `from_minute` on.
    async fn llm_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<crate::ops::jobstats::LlmRollup>>;
    /// Job completion for jobs created from `from_ms`: good = succeeded
    /// within `within_ms`; counted once ended or older than `within_ms`;
    /// cancelled jobs not counted.
    async fn job_sli(
        &self,
        from_ms: u64,
        now_ms: u64,
        within_ms: u64,
    ) -> StoreResult<crate::ops::slo::Sli>;
    /// Dead letters received since `since_ms` and not replayed.
    async fn dead_letter_depth(&self, since_ms: u64) -> StoreResult<u64>;
    /// Documents and their bytes, over all tenants.
    async fn stored_totals(&self) -> StoreResult<(u64, u64)>;
    async fn list_alerts(&self) -> StoreResult<Vec<crate::ops::slo::Alert>>;
    async fn put_alert(&self, alert: &crate::ops::slo::Alert) -> StoreResult<()>;
    /// Tables to back up, in creation order.
    async fn backup_tables(&self) -> StoreResult<Vec<String>>;
    /// Rows of `table` after `after_rowid`, in rowid order, with their rowid.
    async fn backup_rows(
        &self,
        table: &str,
        after_rowid: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, serde_json::Map<String, serde_json::Value>)>>;
}

/// The job queue (Cloudflare Queues). Job and webhook messages share it.
pub trait JobQueue {
    async fn send(&self, msg: &JobMessage) -> StoreResult<()>;
    async fn send_webhook(&self, msg: &WebhookMessage) -> StoreResult<()>;
    /// Whether the queue binding is usable, for `/ready`.
    async fn ping(&self) -> StoreResult<()>;
}

/// Webhook secrets and delivery records (D1).
pub trait WebhookStore {
    /// The tenant's signing secret, storing `candidate` first if it has none.
    async fn tenant_secret_or_insert(
        &self,
        tenant_id: &str,
        candidate: &str,
    ) -> StoreResult<String>;
    async fn tenant_secret(&self, tenant_id: &str) -> StoreResult<Option<String>>;
    /// Inserts a delivery unless one with its id exists.
    async fn insert_delivery(&self, d: &Delivery) -> StoreResult<()>;
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;
    async fn list_deliveries(&self, tenant_id: &str, job_id: &str) -> StoreResult<Vec<Delivery>>;
    /// Takes a pending delivery for one attempt (counting it); false when it
    /// is not pending or another attempt holds it.
    async fn claim_delivery(&self, id: &str, now_ms: u64, lease_until_ms: u64)
        -> StoreResult<bool>;
    /// Records an attempt's outcome: the new status, HTTP status, error.
    async fn finish_attempt(
        &self,
        id: &str,
        status: crate::webhooks::DeliveryStatus,
        http_status: Option<u16>,
        error: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<()>;
}

/// Rate-limit state (a Durable Object per subject). The limiter reads its
/// own clock, so every isolate sees one consistent timeline per subject.
pub trait RateLimiter {
    async fn check(
        &self,
        subject: &str,
        policy: &crate::ratelimit::Policy,
    ) -> StoreResult<crate::ratelimit::Decision>;
}

/// The tenant's gate (a Durable Object per tenant, see [`crate::gate`]):
/// one call decides a request's limits, usage charge and idempotency key
/// and returns the auth epoch; the audit chain is appended through it.
pub trait Gate {
    async fn admit(
        &self,
        tenant_id: &str,
        ask: &crate::gate::Ask,
    ) -> StoreResult<crate::gate::Answer>;
    /// Makes every credential of the tenant cached by any isolate stale.
    async fn bump(&self, tenant_id: &str) -> StoreResult<u64>;
    /// After responses: numbers, chains and keeps each audit entry (unless
    /// throttled away), which reaches the directory now or, if that fails,
    /// on a retry; and makes the usage counts.
    async fn settle(&self, tenant_id: &str, work: &crate::gate::Settle) -> StoreResult<()>;
    /// Opens or renews an event stream's slot for `key` (see
    /// [`crate::gate::STREAMS_PER_KEY`]); false when none is free.
    async fn hold_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<bool>;
    /// Frees a stream's slot.
    async fn drop_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<()>;
    /// Returns once every kept entry is in the directory.
    async fn flush(&self, tenant_id: &str) -> StoreResult<()>;
    /// After the tenant's audit log was erased: the chain starts again.
    async fn reset_audit(&self, tenant_id: &str) -> StoreResult<()>;
}

/// Idempotency records (the tenant's gate object, with an expiry alarm).
pub trait IdempotencyStore {
    async fn begin(
        &self,
        tenant_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> StoreResult<crate::idempotency::Outcome>;
    async fn complete(
        &self,
        tenant_id: &str,
        key: &str,
        response: &crate::idempotency::StoredResponse,
    ) -> StoreResult<()>;
    /// Forgets an unfinished key, so a corrected retry may use it.
    async fn abandon(&self, tenant_id: &str, key: &str) -> StoreResult<()>;
}

/// Usage counters (the tenant's gate object, per month).
pub trait UsageMeter {
    async fn charge(
        &self,
        tenant_id: &str,
        month: &str,
        charge: &crate::usage::Charge,
    ) -> StoreResult<crate::usage::Charged>;
    async fn totals(&self, tenant_id: &str, month: &str) -> StoreResult<crate::usage::Totals>;
}

/// Outbound HTTP for webhooks.
pub trait WebhookSender {
    /// POSTs `body`; the response status, or why there is none.
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String>;
}

/// The wall clock, for code that spans many steps (the queue consumer).
/// Request handlers get `now_ms` once, in their context.
pub trait Clock {
    fn now_ms(&self) -> u64;
    /// Waits (LLM retry backoff in the queue consumer).
    async fn sleep(&self, ms: u64);
}

/// The set of adapters an [`crate::app::App`] runs over: D1/R2/Queues at the
/// edge, in-memory fakes in tests.
pub trait Ports {
    type Meta: MetaStore;
    type Blobs: BlobStore;
    type Queue: JobQueue;
    type Entropy: Entropy;
    type Webhooks: WebhookStore;
    type Limiter: RateLimiter;
    /// The tenant's gate: also its usage meter and idempotency records.
    type Gate: Gate + UsageMeter + IdempotencyStore;
    type Directory: Directory;
    type Http: HttpClient;
    type Breakers: crate::llm::BreakerStore;
    type Ops: OpsStore;
}
