//! Jobs: creation, the claim and lease of a run, progress, the end (D1 `jobs`, `command_states`).

use super::StoreResult;
use crate::jobs::CommandState;
use crate::jobs::Job;
use crate::jobs::JobError;

/// What one page of `GET /v1/jobs` asks for.
pub struct JobPage<'a> {
    pub tenant_id: &'a str,
    pub before: Option<&'a str>,
    pub limit: u32,
    pub status: Option<crate::jobs::JobStatus>,
    pub document_id: Option<&'a str>,
    pub visibility: Option<&'a crate::auth::access::Visibility>,
}

pub trait JobStore {
    /// All the tenant's jobs and shares, for the export.
    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>>;

    /// One page of the tenant's jobs, newest first: ids below `before`,
    /// of `status` and `document_id` when given, and only on documents
    /// `visibility` lets the caller see (`None`: all).
    async fn page_jobs(&self, page: &JobPage<'_>) -> StoreResult<Vec<Job>>;

    /// Queued + running jobs: (of this tenant, of all tenants).
    /// Jobs that can still run, the tenant's and everyone's: `running`
    /// under a live lease, `queued` and changed since `queued_since_ms`
    /// (older queued rows are the sweeper's to re-send or end, and never
    /// hold a tenant's place), and `queued` held back for the tenant's turn.
    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)>;

    /// Inserts a job row, with the Idempotency-Key it was created under if
    /// any (at most one row per tenant and key). The job is held back
    /// (true: not to be sent yet) when its tenant already has `in_flight`
    /// jobs sent to the queue and not ended; decided in the same write.
    async fn insert_job(
        &self,
        job: &Job,
        idempotency_key: Option<&str>,
        in_flight: u32,
    ) -> StoreResult<bool>;

    /// The tenant's oldest held-back jobs, as many as bring its jobs in
    /// the queue up to `in_flight`, marked sent: their ids, to be sent.
    async fn release_held(
        &self,
        tenant_id: &str,
        in_flight: u32,
        now_ms: u64,
    ) -> StoreResult<Vec<String>>;

    /// Tenants that have held-back jobs (for the sweep).
    async fn tenants_with_held(&self, limit: u32) -> StoreResult<Vec<String>>;

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

    /// Records overall and per-command progress of a running job; false
    /// when it is no longer running (cancelled meanwhile): the same write
    /// is the run's cancellation check.
    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        now_ms: u64,
    ) -> StoreResult<bool>;

    /// `queued`/`running` → `cancelled`; false when the job is not pending.
    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool>;

    /// What succeeded jobs finished in `[from_ms, to_ms)` used, summed per
    /// day of one tenant or per tenant (busiest first); at most `limit` rows.
    async fn resource_sums(
        &self,
        by: crate::jobs::resources::SumBy<'_>,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::resources::ResourceSum>>;

    /// `running` → `succeeded`, with what the run used.
    async fn complete_job(
        &self,
        id: &str,
        now_ms: u64,
        resources: &crate::jobs::resources::Resources,
    ) -> StoreResult<()>;

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

    /// A job failed by the dead-letter queue back to `queued` with fresh
    /// attempts; false when it is not in that state.
    async fn revive_job(&self, id: &str, now_ms: u64) -> StoreResult<bool>;

    /// `running` → `queued` again after a retryable failure.
    async fn release_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()>;
}
