//! The parts of a split job: page ranges of a large PDF read as separate
//! queue messages (D1 `job_parts`), and the job parked meanwhile.

use super::StoreResult;

/// Where a part stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStatus {
    Pending,
    Sent,
    Done,
    Failed,
}

impl PartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStatus::Pending => "pending",
            PartStatus::Sent => "sent",
            PartStatus::Done => "done",
            PartStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<PartStatus> {
        [Self::Pending, Self::Sent, Self::Done, Self::Failed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, PartStatus::Done | PartStatus::Failed)
    }
}

/// One part of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPart {
    pub job_id: String,
    /// From 0, in page order.
    pub part: u32,
    pub first_page: u32,
    pub last_page: u32,
    pub status: PartStatus,
    pub attempts: u32,
    pub sent_at_ms: Option<u64>,
    pub error: Option<String>,
    pub used: PartUse,
}

/// What reading a part used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PartUse {
    pub bytes_read: u64,
    pub wasm_memory_bytes: u64,
    pub ms: u64,
}

pub trait PartStore {
    /// Records the job's parts (page ranges in order), once: a second
    /// plan of the same job changes nothing.
    async fn plan_parts(
        &self,
        tenant_id: &str,
        job_id: &str,
        ranges: &[(u32, u32)],
    ) -> StoreResult<()>;

    /// The job's parts, in order.
    async fn job_parts(&self, job_id: &str) -> StoreResult<Vec<JobPart>>;

    /// Marks parts sent, at most `in_flight` unfinished at once: pending
    /// ones, and sent ones whose message has been out since before
    /// `stale_before_ms` (lost). The parts to send now.
    async fn send_parts(
        &self,
        job_id: &str,
        in_flight: u32,
        now_ms: u64,
        stale_before_ms: u64,
    ) -> StoreResult<Vec<u32>>;

    /// Counts one attempt at reading a part; false when it is already
    /// finished (a duplicate delivery).
    async fn start_part(&self, job_id: &str, part: u32) -> StoreResult<bool>;

    /// A part read (`error` none) or given up (`error` given), the job's
    /// progress moved on with it; true when it was the job's last
    /// unfinished part.
    async fn finish_part(
        &self,
        job_id: &str,
        part: u32,
        error: Option<&str>,
        used: PartUse,
        now_ms: u64,
    ) -> StoreResult<bool>;

    /// A running job waits for its parts: parked, its lease set to
    /// `until_ms` (lapsed by then, the sweep sends it again and lost parts
    /// go again); false, and nothing changed, when no part is left to
    /// wait for (the run merges them itself).
    async fn park_job(&self, job_id: &str, now_ms: u64, until_ms: u64) -> StoreResult<bool>;

    /// A parked job made claimable at once (its last part is read); true
    /// when it was parked, and its message is to be sent.
    async fn unpark_job(&self, job_id: &str) -> StoreResult<bool>;
}
