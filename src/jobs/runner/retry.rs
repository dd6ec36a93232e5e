//! Transient faults, inside a run and across runs.
//!
//! Inside: an idempotent call (a read, a put of the same bytes under the
//! same key, a progress write) is tried again a moment later before the
//! run gives up, so a fault that passes within a second costs a retry of
//! that call, not a new run of the whole job. Across: a run that still
//! fails is retried with backoff that spans minutes, for as long as the
//! job's retry window lasts ([`give_up`]), not for a small count of runs.

use super::RunnerLimits;
use crate::jobs::Job;
use crate::ports::{BlobStore, Clock, StoreResult};
use std::future::Future;

/// The pauses before the second and the third try.
const PAUSES_MS: [u64; 2] = [100, 400];

/// A put is retried only if its bytes may be held twice (the retry needs
/// a copy): larger ones are tried once, and a failure retries the job.
const COPY_FOR_RETRY_BYTES: usize = 4 << 20;

/// `call` until it succeeds, fails for good, or has been tried three times.
pub(crate) async fn again<T, F, Fut>(clock: &impl Clock, mut call: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut result = call().await;
    for pause in PAUSES_MS {
        match &result {
            Err(e) if e.is_retryable() => {
                clock.sleep(pause).await;
                result = call().await;
            }
            _ => break,
        }
    }
    result
}

/// Whether a job whose run failed transiently is given up: it has used the
/// ceiling of runs, or its next run would start after its retry window
/// (counted from its first start) has closed.
pub fn give_up(job: &Job, limits: RunnerLimits, now_ms: u64) -> bool {
    let first = job.started_at_ms.unwrap_or(job.created_at_ms);
    let next = now_ms + u64::from(backoff_seconds(&job.id, job.attempts)) * 1000;
    job.attempts >= limits.max_attempts || next > first.saturating_add(limits.retry_window_ms)
}

/// Exponential backoff: 5 s, 10 s, 20 s … capped at 5 minutes, each
/// stretched by up to a quarter, by the job's id, so jobs that failed
/// together do not all come back in the same second.
pub fn backoff_seconds(job_id: &str, attempts: u32) -> u32 {
    let base = 5u32
        .saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(300);
    let spread = job_id.bytes().fold(attempts, |h, b| {
        h.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    base + spread % (base / 4 + 1)
}

/// A blob store whose idempotent calls go through [`again`]; multipart
/// calls (not used by a run) go straight through.
pub(crate) struct Steady<'a, B, C> {
    pub blobs: &'a B,
    pub clock: &'a C,
    /// Bytes read so far, for the run's resources.
    pub read: std::cell::Cell<u64>,
}

impl<B, C> Steady<'_, B, C> {
    fn count(&self, found: StoreResult<Option<Vec<u8>>>) -> StoreResult<Option<Vec<u8>>> {
        if let Ok(Some(bytes)) = &found {
            self.read.set(self.read.get() + bytes.len() as u64);
        }
        found
    }
}

impl<B: BlobStore, C: Clock> BlobStore for Steady<'_, B, C> {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        if bytes.len() > COPY_FOR_RETRY_BYTES {
            return self.blobs.put(key, bytes, content_type).await;
        }
        again(self.clock, || {
            self.blobs.put(key, bytes.clone(), content_type)
        })
        .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.count(again(self.clock, || self.blobs.get(key)).await)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        again(self.clock, || self.blobs.delete(key)).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)> {
        again(self.clock, || self.blobs.list(prefix, cursor, limit)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.blobs.ping().await
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        again(self.clock, || self.blobs.exists(key)).await
    }

    async fn rewrap(&self, key: &str) -> StoreResult<bool> {
        self.blobs.rewrap(key).await
    }

    async fn read_range(
        &self,
        key: &str,
        size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        let found = again(self.clock, || self.blobs.read_range(key, size, offset, len)).await;
        self.count(found)
    }

    async fn start_multipart(&self, key: &str, size: u64, part_size: u64) -> StoreResult<String> {
        self.blobs.start_multipart(key, size, part_size).await
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String> {
        self.blobs.put_part(key, upload_id, layout, n, bytes).await
    }

    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()> {
        self.blobs.finish_multipart(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        self.blobs.abort_multipart(key, upload_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobStatus;
    use crate::ports::StoreError;
    use std::cell::Cell;

    struct NoWait(Cell<u64>);
    impl Clock for NoWait {
        fn now_ms(&self) -> u64 {
            self.0.get()
        }
        async fn sleep(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
    }

    fn failing(
        times: u32,
        error: StoreError,
    ) -> impl FnMut() -> std::future::Ready<StoreResult<u32>> {
        let mut calls = 0;
        move || {
            calls += 1;
            std::future::ready(if calls <= times {
                Err(error.clone())
            } else {
                Ok(calls)
            })
        }
    }

    #[test]
    fn a_fault_that_passes_is_retried_after_a_pause() {
        let clock = NoWait(Cell::new(0));
        let call = failing(2, StoreError::Transient("timeout".into()));
        let out = futures_executor(again(&clock, call));
        assert_eq!(out, Ok(3));
        assert_eq!(clock.0.get(), 500, "paused 100 ms then 400 ms");
    }

    #[test]
    fn a_lasting_or_permanent_fault_is_returned() {
        let clock = NoWait(Cell::new(0));
        let lasting = failing(3, StoreError::Transient("down".into()));
        assert!(futures_executor(again(&clock, lasting)).is_err());
        let clock = NoWait(Cell::new(0));
        let permanent = failing(1, StoreError::Permanent("constraint".into()));
        assert!(futures_executor(again(&clock, permanent)).is_err());
        assert_eq!(clock.0.get(), 0, "a permanent fault is not retried");
    }

    #[test]
    fn backoff_doubles_is_capped_and_spread() {
        for (attempts, base) in [(1, 5), (2, 10), (3, 20), (30, 300)] {
            let b = backoff_seconds("job_x", attempts);
            assert!((base..=base + base / 4).contains(&b), "{attempts}: {b}");
        }
        let spread: std::collections::HashSet<u32> = (0..50)
            .map(|i| backoff_seconds(&format!("job_{i}"), 6))
            .collect();
        assert!(spread.len() > 10, "jobs failing together come back apart");
    }

    fn job_started_at(started: u64, attempts: u32) -> Job {
        Job {
            attempts,
            started_at_ms: Some(started),
            ..crate::jobs::sample_job(JobStatus::Running)
        }
    }

    #[test]
    fn retries_are_budgeted_by_time_with_a_ceiling() {
        let limits = RunnerLimits {
            max_attempts: 25,
            lease_ms: 300_000,
            retry_window_ms: 3_600_000,
            in_flight: 10,
            split: crate::config::split::Split::default(),
        };
        // Eight failed runs within ten minutes: keep going.
        assert!(!give_up(&job_started_at(0, 8), limits, 600_000));
        // Past the window (the next run would start after it): stop.
        assert!(give_up(&job_started_at(0, 8), limits, 3_500_000));
        // The ceiling holds even inside the window.
        assert!(give_up(&job_started_at(0, 25), limits, 60_000));
    }

    fn futures_executor<F: Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("ready at once")
    }
}
