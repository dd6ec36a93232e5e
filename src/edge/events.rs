//! The Server-Sent Events body of `GET /v1/jobs/{id}/events`: polls the
//! job in D1 and writes a frame whenever it changes, until the job ends,
//! disappears, or the stream reaches its time limit.

use super::d1::D1Meta;
use crate::jobs::events::{
    frame, GONE, KEEP_ALIVE, MAX_STREAM_MS, POLL_MS, REVOKED, TIMEOUT, VERIFY_EVERY,
};
use crate::ports::{Gate, JobStore, KeyStore};
use futures_util::stream::{self, Stream};
use std::time::Duration;

struct Poll {
    meta: D1Meta,
    /// The stream's slot in the tenant's gate, renewed as the credential is
    /// checked and freed when the stream ends.
    slot: Option<(super::tenant::DoTenant, crate::http::StreamSlot)>,
    tenant_id: String,
    job_id: String,
    key_id: Option<String>,
    last: Option<String>,
    seq: u64,
    polls: u64,
    done: bool,
}

impl Poll {
    /// Renews the stream's slot and checks the key that opened it: false
    /// once the key is revoked, expired or its tenant suspended (a failed
    /// read is not a refusal; the next check tries again).
    async fn still_allowed(&self) -> bool {
        if let Some((gate, slot)) = &self.slot {
            let _ = gate.hold_stream(&self.tenant_id, &slot.key, &slot.id).await;
        }
        let Some(key_id) = &self.key_id else {
            return true;
        };
        let now = worker::Date::now().as_millis();
        match self.meta.get_key(&self.tenant_id, key_id).await {
            Ok(Some(k)) => k.is_live(now) && k.tenant_active,
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

/// Polls between frames, at most `MAX_STREAM_MS` in total.
impl Poll {
    /// Polls until there is something to send: the job's new state, a
    /// keep-alive, or why the stream ends (`done` then set).
    async fn next_frame(&mut self) -> Vec<u8> {
        loop {
            if self.polls > 0 {
                worker::Delay::from(Duration::from_millis(POLL_MS)).await;
            }
            self.polls += 1;
            if self.polls * POLL_MS > MAX_STREAM_MS {
                self.done = true;
                return TIMEOUT.as_bytes().to_vec();
            }
            // The credential that opened the stream must still be good:
            // a revoked or expired key ends it within VERIFY_EVERY polls.
            if self.polls.is_multiple_of(VERIFY_EVERY) && !self.still_allowed().await {
                self.done = true;
                return REVOKED.as_bytes().to_vec();
            }
            let job = match self.meta.get_job(&self.tenant_id, &self.job_id).await {
                Ok(Some(job)) => job,
                Ok(None) => {
                    self.done = true;
                    return GONE.as_bytes().to_vec();
                }
                // A failed read is retried at the next poll.
                Err(_) => continue,
            };
            self.done = job.status.is_terminal();
            let state = serde_json::to_string(&job.view()).unwrap_or_default();
            if self.last.as_deref() != Some(state.as_str()) {
                self.last = Some(state);
                self.seq += 1;
                return frame(&job, self.seq).into_bytes();
            }
            if self.polls.is_multiple_of(30) {
                return KEEP_ALIVE.as_bytes().to_vec();
            }
        }
    }
}

pub fn job_events(
    meta: D1Meta,
    slot: Option<(super::tenant::DoTenant, crate::http::StreamSlot)>,
    tenant_id: String,
    job_id: String,
    key_id: Option<String>,
) -> impl Stream<Item = Result<Vec<u8>, worker::Error>> {
    let start = Poll {
        meta,
        slot,
        tenant_id,
        job_id,
        key_id,
        last: None,
        seq: 0,
        polls: 0,
        done: false,
    };
    stream::unfold(start, |mut p| async move {
        if p.done {
            if let Some((gate, slot)) = &p.slot {
                let _ = gate.drop_stream(&p.tenant_id, &slot.key, &slot.id).await;
            }
            return None;
        }
        let frame = p.next_frame().await;
        Some((Ok(frame), p))
    })
}
