//! The tenant's gate: one Durable Object per tenant holding what every
//! request of the tenant is decided by (see [`crate::gate`]): its auth
//! epoch, key and tenant rate limits, usage counters, idempotency records
//! and the head of its audit chain; and the adapter that calls it.
//!
//! Exactness: an event reads and updates the in-memory state with no
//! `await` on anything but this object's storage in between, and storage
//! calls hold other events at the input gate, so two requests can neither
//! both take a last rate-limit slot nor both get the same audit seq.
//!
//! Durability: usage totals, idempotency records, the epoch, long rate
//! windows and the audit head are written to storage before the answer
//! leaves (the output gate); rate windows up to a minute live in memory
//! only (an idle object is evicted only after its buckets have refilled).
//! An audit entry is stored here first and then written to D1; one D1
//! refuses stays here and is retried by the alarm, so none is lost.

mod client;
mod outbox;
mod state;

pub use client::DoTenant;

use crate::audit::Draft;
use crate::gate::{Ask, MonthCharge, Settle, Tenant};
use crate::idempotency::StoredResponse;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashSet;
use worker::{durable_object, Env, Request, Response, State};

/// How soon the alarm retries audit entries D1 refused.
const AUDIT_RETRY_MS: i64 = 10_000;
const PENDING: &str = "audit:p:";
const RECORD: &str = "idem:";
/// Audit entries written to D1 per batch.
const WRITE_BATCH: usize = 50;

#[derive(Serialize, Deserialize)]
struct Call {
    tenant: String,
    op: Op,
}

#[derive(Serialize, Deserialize)]
enum Op {
    Admit {
        ask: Ask,
    },
    Bump,
    Charge {
        charge: MonthCharge,
    },
    Totals {
        month: String,
    },
    Begin {
        key: String,
        fingerprint: String,
    },
    Complete {
        key: String,
        response: StoredResponse,
    },
    Abandon {
        key: String,
    },
    Settle {
        work: Settle,
    },
    Stream {
        key: String,
        id: String,
        hold: bool,
    },
    Flush,
    ResetAudit,
    /// Waits up to `wait_ms` for the writes admitted before the last bump.
    DrainWrites {
        wait_ms: u64,
    },
}

/// An audit entry stored here until D1 has it: the draft and the head it
/// was chained to, from which the entry is rebuilt exactly.
#[derive(Serialize, Deserialize)]
struct Pending {
    draft: Draft,
    prev: Option<(u64, String)>,
}

#[durable_object]
pub struct TenantObject {
    state: State,
    env: Env,
    tenant: RefCell<Option<Tenant>>,
    /// Months whose totals are in memory.
    months: RefCell<HashSet<String>>,
    /// A write-out to D1 is under way (one at a time: it takes what is
    /// held when it looks, and looks again until nothing is left).
    writing: std::cell::Cell<bool>,
}

/// How often a drain looks again at the writes it waits for.
const DRAIN_POLL_MS: u64 = 25;

impl TenantObject {
    /// Opens or renews (`hold`) or frees a stream's slot; whether it is held.
    fn stream(&self, key: &str, id: &str, hold: bool, now: u64) -> bool {
        if hold {
            return self.with(|t| t.hold_stream(key, id, now));
        }
        self.with(|t| t.drop_stream(key, id));
        true
    }

    /// Writes admitted before the last bump still running after waiting
    /// up to `wait_ms` (their settles reach this object meanwhile: a wait
    /// on a timer holds no other event back).
    async fn drain_writes(&self, started: u64, wait_ms: u64) -> u64 {
        loop {
            let now = worker::Date::now().as_millis();
            let left = self.with(|t| t.writes_before_bump(now));
            if left == 0 || now.saturating_sub(started) >= wait_ms {
                return left;
            }
            worker::Delay::from(std::time::Duration::from_millis(DRAIN_POLL_MS)).await;
        }
    }
}

impl worker::DurableObject for TenantObject {
    fn new(state: State, env: Env) -> Self {
        TenantObject {
            state,
            env,
            tenant: RefCell::new(None),
            months: RefCell::new(HashSet::new()),
            writing: std::cell::Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let call: Call = req.json().await?;
        self.load(&call.tenant).await?;
        let now = worker::Date::now().as_millis();
        match call.op {
            Op::Admit { ask } => Response::from_json(&self.admit(&call.tenant, &ask, now).await?),
            Op::Bump => {
                let epoch = self.with(Tenant::bump);
                self.state.storage().put("epoch", epoch).await?;
                Response::from_json(&epoch)
            }
            Op::Charge { charge } => {
                Response::from_json(&self.charge(&call.tenant, &charge).await?)
            }
            Op::Totals { month } => {
                self.load_month(&call.tenant, &month).await?;
                let totals = self.with(|t| t.usage.get(&month).cloned().unwrap_or_default());
                Response::from_json(&totals)
            }
            Op::Begin { key, fingerprint } => {
                Response::from_json(&self.begin(&key, &fingerprint, now).await?)
            }
            Op::Complete { key, response } => {
                self.complete(&key, response).await?;
                Response::from_json(&true)
            }
            Op::Abandon { key } => {
                self.state
                    .storage()
                    .delete(&format!("{RECORD}{key}"))
                    .await?;
                Response::from_json(&true)
            }
            Op::Settle { work } => {
                self.settle(&call.tenant, work, now).await?;
                Response::from_json(&true)
            }
            Op::Stream { key, id, hold } => Response::from_json(&self.stream(&key, &id, hold, now)),
            Op::Flush => {
                // A reader waits for everything held, even while another
                // write-out runs (an entry written twice is ignored).
                while self.write_batch().await? > 0 {}
                Response::from_json(&true)
            }
            Op::ResetAudit => {
                self.reset_audit().await?;
                Response::from_json(&true)
            }
            Op::DrainWrites { wait_ms } => {
                Response::from_json(&self.drain_writes(now, wait_ms).await)
            }
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.write_out().await;
        self.expire_records().await?;
        Response::from_json(&true)
    }
}
