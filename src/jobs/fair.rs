//! Fair processing across tenants. Every tenant's jobs share one queue,
//! consumed in arrival order; left at that, one tenant's flood of 300 jobs
//! would put everyone else's one-line job behind all of it. So a tenant has
//! at most `TENANT_JOBS_IN_FLIGHT` jobs in the queue at once: its later
//! jobs wait in D1 (`queued`, held back), and each one of its jobs that
//! ends sends its next. Another tenant's job then waits behind at most that
//! many of the flooding tenant's, however large the flood.

use super::JobMessage;
use crate::ports::{JobQueue, JobStore, StoreResult};

/// Sends the tenant's held-back jobs its room in the queue allows; how
/// many were sent. A send that fails leaves its job queued and no longer
/// held: the self-healing pass re-sends it after `JOB_STALL_SECONDS`.
pub async fn send_held(
    meta: &(impl JobStore + crate::ports::ShardStore),
    queue: &impl JobQueue,
    tenant_id: &str,
    in_flight: u32,
    now_ms: u64,
) -> StoreResult<u32> {
    let mut sent = 0;
    for job_id in meta.release_held(tenant_id, in_flight, now_ms).await? {
        let msg = JobMessage {
            part: None,
            job_id,
            shard: meta.entered(),
            traceparent: None,
        };
        if queue.send(&msg).await.is_ok() {
            sent += 1;
        }
    }
    Ok(sent)
}
