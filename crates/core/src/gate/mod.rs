//! The request gate's per-tenant state, decided in one step: the tenant's
//! auth epoch, the rate limits of its keys and of the tenant, its usage
//! counters, its idempotency records and the head of its audit chain.
//!
//! One object per tenant holds all of it (a Durable Object at the edge, a
//! fake in tests), so a request costs one round trip for everything the
//! gate decides, and the audit chain has one writer: entries are numbered
//! in order, never lost to a race. Pure: the caller loads what a step
//! needs, passes the time in and stores what changed.

use crate::audit::{Draft, Entry};
use crate::idempotency::{self, Outcome};
use crate::ratelimit::{check, Decision, Policy};
use crate::usage::{apply, Charge, Charged, Totals};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One rate limit to take a slot from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// Whose bucket: `key:<id>:<class>` or `tenant`.
    pub subject: String,
    pub policy: Policy,
}

/// A usage charge for a month (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthCharge {
    pub month: String,
    pub charge: Charge,
}

/// An idempotency key to begin, with the request's fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Begin {
    pub key: String,
    pub fingerprint: String,
}

/// What one request asks of its tenant's gate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ask {
    pub limits: Vec<Limit>,
    pub charge: Option<MonthCharge>,
    pub begin: Option<Begin>,
    /// The request writes: its id is held as a write in flight from its
    /// admission until it settles (see [`Tenant::writes`]).
    #[serde(default)]
    pub write: Option<String>,
}

/// The gate's answer. Later steps are taken only when the earlier ones
/// allowed the request: a rate-limited request is not charged, and an
/// idempotency key is begun only for a request that will run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    /// Bumped by every change to who may call (revocation, rotation,
    /// suspension …): credentials cached under another epoch are stale.
    pub epoch: u64,
    /// One decision per asked limit, in order.
    pub limits: Vec<Decision>,
    pub charged: Option<Charged>,
    pub begun: Option<Outcome>,
}

impl Answer {
    /// Whether every limit allowed the request.
    pub fn within_limits(&self) -> bool {
        self.limits.iter().all(|d| d.allowed)
    }
}

/// A refused-credential entry is written only while its subject stays
/// under this policy (a flood of bad keys is logged, not audited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    pub subject: String,
    pub policy: Policy,
}

/// What requests leave for their tenant's gate after their responses, in
/// one call: audit entries (each throttled or not) and usage counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settle {
    pub audits: Vec<(Draft, Option<Throttle>)>,
    pub charges: Vec<MonthCharge>,
    /// Writes that are over (their requests' ids).
    #[serde(default)]
    pub writes_done: Vec<String>,
}

impl Settle {
    pub fn is_empty(&self) -> bool {
        self.audits.is_empty() && self.charges.is_empty() && self.writes_done.is_empty()
    }
}

/// The tenant's state that lives in memory between requests.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub epoch: u64,
    /// GCRA theoretical arrival time per `subject/policy`.
    pub tats: HashMap<String, u64>,
    /// Usage totals per month, as loaded.
    pub usage: HashMap<String, Totals>,
    /// The audit chain's last (seq, hash); `None` before the first entry.
    pub audit_head: Option<(u64, String)>,
    /// Open event streams per key: (stream id, lease end). Memory only:
    /// an evicted object forgets them, which errs towards letting in.
    pub streams: HashMap<String, Vec<(String, u64)>>,
    /// Writes admitted and not yet settled: request id → (admitted at, the
    /// epoch it was admitted under). A tenant move waits for those admitted
    /// before its freeze (an older epoch), so none lands on the old shard
    /// after the copy. Memory only, like the streams: an evicted object
    /// forgets them, which errs towards moving.
    pub writes: HashMap<String, (u64, u64)>,
}

/// A write not settled after this long is taken for lost (its isolate
/// died): it no longer holds a move back.
pub const WRITE_LEASE_MS: u64 = 15 * 60_000;
/// Writes held at most; past it the oldest is forgotten.
pub const WRITES_HELD: usize = 10_000;

/// Event streams one key (or signed-in user) may hold open at once.
pub const STREAMS_PER_KEY: usize = 5;
/// A stream's slot lasts this long unless renewed (a stream renews it as
/// it re-checks its credential; one that was cut off frees it by then).
pub const STREAM_LEASE_MS: u64 = 30_000;

/// What a step changed, for the caller to store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    /// The month whose totals changed.
    pub usage_month: Option<String>,
    /// The idempotency entry to store under the asked key.
    pub entry: Option<idempotency::Entry>,
    /// Whether a limit with a window past a minute took a slot.
    pub long_window: bool,
}

/// Windows longer than this are worth persisting: shorter buckets refill
/// before an idle object is evicted.
pub const PERSIST_AFTER_MS: u64 = 60_000;

impl Tenant {
    /// Decides a request. `existing` is the stored idempotency entry under
    /// the asked key, and `once_seen` whether the charge's `once` id was
    /// charged before; the month of the charge must be loaded.
    pub fn admit(
        &mut self,
        ask: &Ask,
        existing: Option<&idempotency::Entry>,
        once_seen: bool,
        now_ms: u64,
    ) -> (Answer, Changes) {
        let mut answer = Answer {
            epoch: self.epoch,
            ..Answer::default()
        };
        let mut changes = Changes::default();
        let mut next = Vec::with_capacity(ask.limits.len());
        for limit in &ask.limits {
            let slot = slot_of(&limit.subject, &limit.policy);
            let (tat, decision) = check(self.tats.get(&slot).copied(), &limit.policy, now_ms);
            answer.limits.push(decision);
            next.push((slot, tat));
        }
        // All or nothing: a request refused by one limit takes no slot
        // from the others.
        if !answer.within_limits() {
            return (answer, changes);
        }
        for ((slot, tat), limit) in next.into_iter().zip(&ask.limits) {
            self.tats.insert(slot, tat);
            changes.long_window |= limit.policy.period_ms > PERSIST_AFTER_MS;
        }
        if let Some(mc) = &ask.charge {
            let charged = self.charge(mc, once_seen);
            answer.charged = Some(charged);
            if !charged.allowed {
                return (answer, changes);
            }
            changes.usage_month = Some(mc.month.clone());
        }
        if let Some(b) = &ask.begin {
            let (outcome, entry) = idempotency::begin(existing, &b.fingerprint, now_ms);
            answer.begun = Some(outcome);
            changes.entry = entry;
        }
        if let Some(id) = &ask.write {
            self.hold_write(id, now_ms);
        }
        (answer, changes)
    }

    /// Applies a charge to its (loaded) month; a `once` charge already
    /// made is not made again.
    pub fn charge(&mut self, mc: &MonthCharge, once_seen: bool) -> Charged {
        let totals = self.usage.entry(mc.month.clone()).or_default();
        if once_seen {
            let total = totals.get(&mc.charge.metric).copied().unwrap_or(0);
            return Charged {
                allowed: true,
                total,
            };
        }
        apply(totals, &mc.charge)
    }

    /// Marks every credential of the tenant cached so far as stale.
    pub fn bump(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Whether a throttled append may go ahead (taking a slot if so).
    pub fn throttle_allows(&mut self, t: &Throttle, now_ms: u64) -> bool {
        let slot = slot_of(&t.subject, &t.policy);
        let (tat, decision) = check(self.tats.get(&slot).copied(), &t.policy, now_ms);
        if decision.allowed {
            self.tats.insert(slot, tat);
        }
        decision.allowed
    }

    /// Places a draft at the head of the chain and moves the head: the
    /// caller stores the entry (and the new head) before answering.
    pub fn append(&mut self, draft: Draft) -> Entry {
        let entry = Entry::chain(draft, self.audit_head.take());
        self.audit_head = Some((entry.seq, entry.hash.clone()));
        entry
    }
}

impl Tenant {
    /// Opens or renews a stream's slot; false when the key holds
    /// [`STREAMS_PER_KEY`] live ones already.
    pub fn hold_stream(&mut self, key: &str, stream_id: &str, now_ms: u64) -> bool {
        let held = self.streams.entry(key.to_string()).or_default();
        held.retain(|(_, until)| *until > now_ms);
        let until = now_ms + STREAM_LEASE_MS;
        if let Some(s) = held.iter_mut().find(|(id, _)| id == stream_id) {
            s.1 = until;
            return true;
        }
        if held.len() >= STREAMS_PER_KEY {
            return false;
        }
        held.push((stream_id.to_string(), until));
        true
    }

    /// Frees a stream's slot.
    pub fn drop_stream(&mut self, key: &str, stream_id: &str) {
        if let Some(held) = self.streams.get_mut(key) {
            held.retain(|(id, _)| id != stream_id);
        }
    }
}

impl Tenant {
    fn hold_write(&mut self, id: &str, now_ms: u64) {
        if self.writes.len() >= WRITES_HELD {
            self.writes
                .retain(|_, (at, _)| at.saturating_add(WRITE_LEASE_MS) > now_ms);
        }
        if self.writes.len() >= WRITES_HELD {
            let oldest = self.writes.iter().min_by_key(|(_, (at, _))| *at);
            if let Some(k) = oldest.map(|(k, _)| k.clone()) {
                self.writes.remove(&k);
            }
        }
        self.writes.insert(id.to_string(), (now_ms, self.epoch));
    }

    /// Writes that are over.
    pub fn end_writes(&mut self, ids: &[String]) {
        for id in ids {
            self.writes.remove(id);
        }
    }

    /// Writes admitted before the last [`Tenant::bump`] and still running
    /// (lapsed ones are forgotten).
    pub fn writes_before_bump(&mut self, now_ms: u64) -> u64 {
        self.writes
            .retain(|_, (at, _)| at.saturating_add(WRITE_LEASE_MS) > now_ms);
        let epoch = self.epoch;
        self.writes.values().filter(|(_, e)| *e < epoch).count() as u64
    }
}

fn slot_of(subject: &str, policy: &Policy) -> String {
    format!("{subject}/{}", policy.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, limit: u32) -> Policy {
        Policy {
            name: name.into(),
            limit,
            period_ms: 60_000,
        }
    }

    fn ask(key_limit: u32, tenant_limit: u32) -> Ask {
        Ask {
            limits: vec![
                Limit {
                    subject: "key:k1:read".into(),
                    policy: policy("read", key_limit),
                },
                Limit {
                    subject: "tenant".into(),
                    policy: policy("tenant", tenant_limit),
                },
            ],
            charge: Some(MonthCharge {
                month: "2026-12".into(),
                charge: Charge {
                    metric: "requests".into(),
                    amount: 1,
                    limit: Some(10),
                    day: None,
                    key: None,
                    once: None,
                },
            }),
            begin: None,
            write: None,
        }
    }

    fn requests(t: &Tenant) -> i64 {
        t.usage["2026-12"]["requests"]
    }

    #[test]
    fn a_rate_limited_request_is_not_charged() {
        let mut t = Tenant::default();
        let a = ask(1, 100);
        assert!(t.admit(&a, None, false, 0).0.within_limits());
        let (answer, changes) = t.admit(&a, None, false, 1);
        assert!(!answer.limits[0].allowed);
        assert_eq!(answer.charged, None);
        assert_eq!(changes.usage_month, None);
        assert_eq!(requests(&t), 1);
    }

    #[test]
    fn a_refusal_by_the_tenant_limit_takes_no_slot_from_the_key() {
        let mut t = Tenant::default();
        let a = ask(2, 1);
        t.admit(&a, None, false, 0);
        let (answer, _) = t.admit(&a, None, false, 1);
        assert!(answer.limits[0].allowed && !answer.limits[1].allowed);
        // The key still has its second slot: only the first was taken.
        let key_only = Ask {
            limits: vec![a.limits[0].clone()],
            ..Ask::default()
        };
        assert!(t.admit(&key_only, None, false, 2).0.within_limits());
    }

    #[test]
    fn an_idempotency_key_is_begun_only_within_budget() {
        let mut t = Tenant::default();
        let mut a = ask(100, 100);
        a.charge.as_mut().unwrap().charge.limit = Some(0);
        a.begin = Some(Begin {
            key: "k".into(),
            fingerprint: "f".into(),
        });
        let (answer, changes) = t.admit(&a, None, false, 0);
        assert_eq!(answer.charged.map(|c| c.allowed), Some(false));
        assert_eq!(answer.begun, None);
        assert_eq!(changes.entry, None);
        a.charge = None;
        let (answer, changes) = t.admit(&a, None, false, 0);
        assert_eq!(answer.begun, Some(Outcome::Proceed));
        assert!(changes.entry.is_some());
    }

    #[test]
    fn appends_are_numbered_in_order_and_chained() {
        let mut t = Tenant::default();
        let draft = |action: &str| Draft {
            tenant_id: "ten_a".into(),
            action: action.into(),
            actor: "key:k".into(),
            outcome: "success".into(),
            ..Draft::default()
        };
        let entries: Vec<Entry> = (0..5).map(|i| t.append(draft(&format!("a.{i}")))).collect();
        assert_eq!(
            entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(crate::audit::verify(None, &entries).is_ok());
    }

    #[test]
    fn a_bump_changes_the_epoch_every_answer_carries() {
        let mut t = Tenant::default();
        let before = t.admit(&Ask::default(), None, false, 0).0.epoch;
        t.bump();
        assert_ne!(t.admit(&Ask::default(), None, false, 0).0.epoch, before);
    }

    #[test]
    fn a_key_holds_a_bounded_number_of_streams_and_a_lapsed_one_frees_its_slot() {
        let mut t = Tenant::default();
        for i in 0..STREAMS_PER_KEY {
            assert!(t.hold_stream("k", &format!("s{i}"), 0));
        }
        assert!(!t.hold_stream("k", "extra", 1));
        assert!(t.hold_stream("other", "s0", 1), "another key's slots");
        assert!(t.hold_stream("k", "s0", 1), "a renewal is not a new stream");
        t.drop_stream("k", "s1");
        assert!(t.hold_stream("k", "extra", 2));
        // s0 was renewed at 1; the others lapse at STREAM_LEASE_MS.
        assert!(t.hold_stream("k", "late", STREAM_LEASE_MS));
    }

    #[test]
    fn a_once_charge_is_not_made_twice() {
        let mut t = Tenant::default();
        let mc = MonthCharge {
            month: "2026-12".into(),
            charge: Charge {
                metric: "pages".into(),
                amount: 3,
                limit: None,
                day: None,
                key: None,
                once: Some("job_1".into()),
            },
        };
        assert_eq!(t.charge(&mc, false).total, 3);
        assert_eq!(t.charge(&mc, true).total, 3);
    }

    #[test]
    fn a_move_waits_for_writes_admitted_before_its_bump_only() {
        let mut t = Tenant::default();
        let write = |id: &str| Ask {
            write: Some(id.into()),
            ..Ask::default()
        };
        t.admit(&write("req_before"), None, false, 1_000);
        t.admit(&Ask::default(), None, false, 1_000); // a read holds nothing
        assert_eq!(t.writes_before_bump(1_000), 0, "nothing is older yet");
        t.bump();
        // Admitted after the freeze's bump: refused by the freeze, not waited for.
        t.admit(&write("req_after"), None, false, 2_000);
        assert_eq!(t.writes_before_bump(2_000), 1);
        t.end_writes(&["req_before".into()]);
        assert_eq!(t.writes_before_bump(2_000), 0);
        assert!(t.writes.contains_key("req_after"));
    }

    #[test]
    fn a_refused_write_holds_nothing_and_a_lost_one_lapses() {
        let mut t = Tenant::default();
        let mut refused = ask(1, 10);
        t.admit(&refused, None, false, 0); // takes the key's one slot
        refused.write = Some("req_refused".into());
        let (answer, _) = t.admit(&refused, None, false, 1);
        assert!(!answer.within_limits());
        assert!(t.writes.is_empty());
        let lost = Ask {
            write: Some("req_lost".into()),
            ..Ask::default()
        };
        t.admit(&lost, None, false, 0);
        t.bump();
        assert_eq!(t.writes_before_bump(WRITE_LEASE_MS - 1), 1);
        assert_eq!(t.writes_before_bump(WRITE_LEASE_MS), 0);
    }

    #[test]
    fn writes_held_are_bounded() {
        let mut t = Tenant::default();
        for i in 0..WRITES_HELD + 5 {
            let a = Ask {
                write: Some(format!("req_{i}")),
                ..Ask::default()
            };
            t.admit(&a, None, false, i as u64);
        }
        assert_eq!(t.writes.len(), WRITES_HELD);
        assert!(!t.writes.contains_key("req_0"), "the oldest went first");
    }
}
