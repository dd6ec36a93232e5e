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
        loop {
            if p.polls > 0 {
                worker::Delay::from(Duration::from_millis(POLL_MS)).await;
            }
            p.polls += 1;
            if p.polls * POLL_MS > MAX_STREAM_MS {
                p.done = true;
                return Some((Ok(TIMEOUT.as_bytes().to_vec()), p));
            }
            // The credential that opened the stream must still be good:
            // a revoked or expired key ends it within VERIFY_EVERY polls.
            if p.polls % VERIFY_EVERY == 0 && !p.still_allowed().await {
                p.done = true;
                return Some((Ok(REVOKED.as_bytes().to_vec()), p));
            }
            let job = match p.meta.get_job(&p.tenant_id, &p.job_id).await {
                Ok(Some(job)) => job,
                Ok(None) => {
                    p.done = true;
                    return Some((Ok(GONE.as_bytes().to_vec()), p));
                }
                // A failed read is retried at the next poll.
                Err(_) => continue,
            };
            p.done = job.status.is_terminal();
            let state = serde_json::to_string(&job.view()).unwrap_or_default();
            if p.last.as_deref() != Some(state.as_str()) {
                p.last = Some(state);
                p.seq += 1;
                return Some((Ok(frame(&job, p.seq).into_bytes()), p));
            }
            if p.polls % 30 == 0 {
                return Some((Ok(KEEP_ALIVE.as_bytes().to_vec()), p));
            }
        }
    })
}
