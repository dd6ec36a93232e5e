//! Ports: one small trait per outside system the core talks to.
//!
//! The edge implements them over D1, R2 and Queues; the `quire-testkit` crate over
//! memory, for application tests. Futures need not be `Send` (one thread).

pub mod dead_letters;
pub mod documents;
pub use quire_core::entropy;
pub mod error;
pub mod jobs;
pub mod keys;
pub mod ocr;
pub mod parts;
pub mod signatures;
pub mod tenants;
pub mod uploads;

pub use crate::ops::jobstats::JobTiming;
pub use dead_letters::DeadLetterStore;
pub use documents::DocumentStore;
pub use entropy::Entropy;
pub use error::{StoreError, StoreResult};
pub use jobs::{JobPage, JobStore};
pub use keys::KeyStore;
pub use ocr::Ocr;
pub use parts::PartStore;
pub use signatures::SignatureCheck;
pub use tenants::{ShardStore, TenantStore};
pub use uploads::UploadStore;

use crate::auth::User;
use crate::jobs::JobMessage;
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
/// Everything Quire keeps in D1, one store per kind of record; the
/// adapters implement each, and this names them together.
pub trait MetaStore:
    TenantStore
    + ShardStore
    + KeyStore
    + UploadStore
    + DocumentStore
    + JobStore
    + PartStore
    + DeadLetterStore
{
    async fn ping(&self) -> StoreResult<()>;
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
    /// The tenant's database shard (read with the record, so a token's
    /// refusal reaches the tenant's gate without another read).
    pub shard: u32,
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
    /// Waits up to `wait_ms` for the writes admitted before the last
    /// [`Gate::bump`] to settle; how many still run.
    async fn drain_writes(&self, tenant_id: &str, wait_ms: u64) -> StoreResult<u64>;
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
    type Signatures: SignatureCheck;
}
