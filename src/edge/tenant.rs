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

use super::d1::D1Meta;
use super::observe::Obs;
use crate::audit::{Draft, Entry};
use crate::gate::{Answer, Ask, MonthCharge, Settle, Tenant, Throttle};
use crate::idempotency::{Entry as Record, Outcome, StoredResponse};
use crate::ports::{Directory, Gate, IdempotencyStore, StoreError, StoreResult, UsageMeter};
use crate::usage::{Charge, Charged, Totals};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use worker::{durable_object, Env, ListOptions, ObjectNamespace, Request, Response, State};

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
                let existing = self.record(&key).await?;
                let (outcome, entry) =
                    crate::idempotency::begin(existing.as_ref(), &fingerprint, now);
                if let Some(entry) = entry {
                    self.save_record(&key, entry).await?;
                }
                Response::from_json(&outcome)
            }
            Op::Complete { key, response } => {
                if let Some(mut entry) = self.record(&key).await? {
                    entry.response = Some(response);
                    self.save_record(&key, entry).await?;
                }
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
                // Audit entries first: a count that cannot be stored must
                // not cost an entry.
                let mut appended = false;
                for (draft, throttle) in work.audits {
                    appended |= self.append(draft, throttle.as_ref(), now).await?;
                }
                let counted = async {
                    for mc in &work.charges {
                        self.charge(&call.tenant, mc).await?;
                    }
                    Ok::<_, worker::Error>(())
                }
                .await;
                if appended {
                    self.write_out().await;
                }
                counted?;
                Response::from_json(&true)
            }
            Op::Stream { key, id, hold } => {
                let held = if hold {
                    self.with(|t| t.hold_stream(&key, &id, now))
                } else {
                    self.with(|t| t.drop_stream(&key, &id));
                    true
                };
                Response::from_json(&held)
            }
            Op::Flush => {
                // A reader waits for everything held, even while another
                // write-out runs (an entry written twice is ignored).
                while self.write_batch().await? > 0 {}
                Response::from_json(&true)
            }
            Op::ResetAudit => {
                self.with(|t| t.audit_head = None);
                let storage = self.state.storage();
                storage.delete("audit:head").await?;
                let keys = self.pending_keys().await?;
                if !keys.is_empty() {
                    storage.delete_multiple(keys).await?;
                }
                Response::from_json(&true)
            }
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.write_out().await;
        self.expire_records().await?;
        Response::from_json(&true)
    }
}

impl TenantObject {
    fn with<T>(&self, f: impl FnOnce(&mut Tenant) -> T) -> T {
        let mut guard = self.tenant.borrow_mut();
        f(guard.get_or_insert_with(Tenant::default))
    }

    /// Reads the state kept between evictions, once.
    async fn load(&self, tenant_id: &str) -> worker::Result<()> {
        if self.tenant.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let epoch: Option<u64> = storage.get("epoch").await?;
        let tats: Option<HashMap<String, u64>> = storage.get("tats").await?;
        let mut head: Option<(u64, String)> = storage.get("audit:head").await?;
        let started: Option<bool> = storage.get("audit:started").await?;
        if started.is_none() {
            // The chain's first writer here: continue it from where D1 has
            // it (entries appended before this object existed).
            head = D1Meta(self.env.d1("DB")?, Obs::default())
                .audit_head(tenant_id)
                .await
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            // The D1 read lets other events in: one that loaded meanwhile
            // may have appended already, and its head must not be
            // overwritten with this older one.
            if self.tenant.borrow().is_some() {
                return Ok(());
            }
            storage.put("audit:started", true).await?;
            if let Some(h) = &head {
                storage.put("audit:head", h).await?;
            }
        }
        let mut guard = self.tenant.borrow_mut();
        if guard.is_none() {
            *guard = Some(Tenant {
                epoch: epoch.unwrap_or(0),
                tats: tats.unwrap_or_default(),
                usage: HashMap::new(),
                audit_head: head,
                streams: HashMap::new(),
            });
        }
        Ok(())
    }

    async fn load_month(&self, tenant_id: &str, month: &str) -> worker::Result<()> {
        if self.months.borrow().contains(month) {
            return Ok(());
        }
        // One storage entry per counter, so a charge writes only the
        // three it changes, however long the month's breakdown grows.
        let prefix = format!("u:{month}:");
        let stored = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(&prefix))
            .await?;
        let mut totals = Totals::new();
        for item in stored.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            if let (Some(key), Some(v)) = (arr.get(0).as_string(), arr.get(1).as_f64()) {
                totals.insert(key[prefix.len()..].to_string(), v as i64);
            }
        }
        let imported = totals.is_empty();
        if imported {
            totals = self.legacy_totals(tenant_id, month).await;
        }
        // The legacy read lets other events in: the first to load the month
        // wins, and only it stores what it imported (a later copy would
        // overwrite charges made meanwhile).
        if !self.months.borrow_mut().insert(month.to_string()) {
            return Ok(());
        }
        let all: Vec<(String, i64)> = totals.iter().map(|(k, v)| (k.clone(), *v)).collect();
        self.with(|t| t.usage.insert(month.to_string(), totals));
        if imported {
            self.save_counters(month, all).await?;
        }
        Ok(())
    }

    /// Totals kept by the usage object of earlier releases (one per tenant
    /// and month), so a month under way keeps its count across the
    /// upgrade. Read once per month; empty when there is none.
    async fn legacy_totals(&self, tenant_id: &str, month: &str) -> Totals {
        let Ok(ns) = self.env.durable_object("USAGE") else {
            return Totals::default();
        };
        let name = format!("{tenant_id}:{month}");
        let body = serde_json::json!({ "op": "totals" });
        match super::objects::post_json(&ns, &name, "https://usage/op", &body).await {
            Ok(mut resp) => resp.json::<Totals>().await.unwrap_or_default(),
            Err(_) => Totals::default(),
        }
    }

    /// Writes the named counters of a month.
    async fn save_counters(&self, month: &str, counters: Vec<(String, i64)>) -> worker::Result<()> {
        if counters.is_empty() {
            return Ok(());
        }
        let values = worker::js_sys::Object::new();
        for (name, v) in counters {
            worker::js_sys::Reflect::set(
                &values,
                &format!("u:{month}:{name}").into(),
                &(v as f64).into(),
            )?;
        }
        self.state.storage().put_multiple_raw(values).await
    }

    /// Writes the counters a charge changed.
    async fn save_charge(&self, mc: &MonthCharge) -> worker::Result<()> {
        let counters = self.with(|t| {
            let totals = t.usage.get(&mc.month);
            crate::usage::touched(&mc.charge)
                .into_iter()
                .map(|n| {
                    let v = totals.and_then(|m| m.get(&n)).copied().unwrap_or(0);
                    (n, v)
                })
                .collect()
        });
        self.save_counters(&mc.month, counters).await
    }

    /// Whether a `once` charge was made before.
    async fn once_seen(&self, mc: &MonthCharge) -> worker::Result<bool> {
        match &mc.charge.once {
            Some(id) => Ok(self
                .state
                .storage()
                .get::<bool>(&format!("once:{}:{id}", mc.month))
                .await?
                .is_some()),
            None => Ok(false),
        }
    }

    /// Marks a `once` charge as made, once it went ahead.
    async fn mark_once(&self, mc: &MonthCharge) -> worker::Result<()> {
        match &mc.charge.once {
            Some(id) => {
                self.state
                    .storage()
                    .put(&format!("once:{}:{id}", mc.month), true)
                    .await
            }
            None => Ok(()),
        }
    }

    async fn record(&self, key: &str) -> worker::Result<Option<Record>> {
        self.state.storage().get(&format!("{RECORD}{key}")).await
    }

    async fn save_record(&self, key: &str, entry: Record) -> worker::Result<()> {
        let expires = entry.expires_ms as i64;
        let storage = self.state.storage();
        storage.put(&format!("{RECORD}{key}"), entry).await?;
        match storage.get_alarm().await? {
            Some(current) if current <= expires => Ok(()),
            _ => storage.set_alarm(expires).await,
        }
    }

    async fn admit(&self, tenant_id: &str, ask: &Ask, now: u64) -> worker::Result<Answer> {
        if let Some(mc) = &ask.charge {
            self.load_month(tenant_id, &mc.month).await?;
        }
        let existing = match &ask.begin {
            Some(b) => self.record(&b.key).await?,
            None => None,
        };
        let once = match &ask.charge {
            Some(mc) => self.once_seen(mc).await?,
            None => false,
        };
        let (answer, changes) = self.with(|t| t.admit(ask, existing.as_ref(), once, now));
        let storage = self.state.storage();
        if let (Some(_), Some(mc)) = (&changes.usage_month, &ask.charge) {
            self.save_charge(mc).await?;
            self.mark_once(mc).await?;
        }
        if changes.long_window {
            let tats = self.with(|t| t.tats.clone());
            storage.put("tats", tats).await?;
        }
        if let (Some(b), Some(entry)) = (&ask.begin, changes.entry) {
            self.save_record(&b.key, entry).await?;
        }
        Ok(answer)
    }

    async fn charge(&self, tenant_id: &str, mc: &MonthCharge) -> worker::Result<Charged> {
        self.load_month(tenant_id, &mc.month).await?;
        let once = self.once_seen(mc).await?;
        let charged = self.with(|t| t.charge(mc, once));
        if charged.allowed && !once {
            self.save_charge(mc).await?;
            self.mark_once(mc).await?;
        }
        Ok(charged)
    }

    /// Numbers and chains the entry and stores it with the new head.
    async fn append(
        &self,
        draft: Draft,
        throttle: Option<&Throttle>,
        now: u64,
    ) -> worker::Result<bool> {
        let placed = self.with(|t| {
            if throttle.is_some_and(|th| !t.throttle_allows(th, now)) {
                return None;
            }
            let prev = t.audit_head.clone();
            let entry = t.append(draft.clone());
            Some((entry.seq, Pending { draft, prev }, t.audit_head.clone()))
        });
        let Some((seq, pending, head)) = placed else {
            return Ok(false);
        };
        let storage = self.state.storage();
        storage.put(&format!("{PENDING}{seq:020}"), pending).await?;
        storage.put("audit:head", head).await?;
        Ok(true)
    }

    async fn pending_keys(&self) -> worker::Result<Vec<String>> {
        let map = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(PENDING))
            .await?;
        Ok(map
            .keys()
            .into_iter()
            .filter_map(|k| k.ok().and_then(|k| k.as_string()))
            .collect())
    }

    /// Writes the entries held here to D1, in batches; what D1 refuses
    /// stays, and the alarm tries again. One write-out runs at a time: an
    /// append during one is taken by its next pass.
    async fn write_out(&self) {
        if self.writing.replace(true) {
            return;
        }
        let result = loop {
            match self.write_batch().await {
                Ok(0) => break Ok(()),
                Ok(_) => continue,
                Err(e) => break Err(e),
            }
        };
        self.writing.set(false);
        if let Err(e) = result {
            worker::console_log!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "audit entries kept for a retry", "error": e.to_string()})
            );
            let storage = self.state.storage();
            let at = worker::Date::now().as_millis() as i64 + AUDIT_RETRY_MS;
            let sooner = match storage.get_alarm().await {
                Ok(Some(current)) => current > at,
                _ => true,
            };
            if sooner {
                let _ = storage.set_alarm(at).await;
            }
        }
    }

    /// Writes up to [`WRITE_BATCH`] held entries in one D1 batch; how many.
    async fn write_batch(&self) -> worker::Result<usize> {
        let storage = self.state.storage();
        let held = storage
            .list_with_options(ListOptions::new().prefix(PENDING).limit(WRITE_BATCH))
            .await?;
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        for item in held.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            let Some(key) = arr.get(0).as_string() else {
                continue;
            };
            let pending: Pending = worker::serde_wasm_bindgen::from_value(arr.get(1))
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            entries.push(Entry::chain(pending.draft, pending.prev));
            keys.push(key);
        }
        if entries.is_empty() {
            return Ok(0);
        }
        D1Meta(self.env.d1("DB")?, Obs::default())
            .insert_audit_batch(&entries)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        storage.delete_multiple(keys).await?;
        Ok(entries.len())
    }

    /// Deletes expired idempotency records and sets the next alarm.
    async fn expire_records(&self) -> worker::Result<()> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis();
        let all = storage
            .list_with_options(ListOptions::new().prefix(RECORD))
            .await?;
        let mut expired = Vec::new();
        let mut next: Option<u64> = None;
        for item in all.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            let Some(key) = arr.get(0).as_string() else {
                continue;
            };
            match worker::serde_wasm_bindgen::from_value::<Record>(arr.get(1)) {
                Ok(r) if r.expires_ms > now => {
                    next = Some(next.map_or(r.expires_ms, |n| n.min(r.expires_ms)));
                }
                _ => expired.push(key),
            }
        }
        for chunk in expired.chunks(128) {
            storage.delete_multiple(chunk.to_vec()).await?;
        }
        if !self.pending_keys().await?.is_empty() {
            let retry = now + AUDIT_RETRY_MS as u64;
            next = Some(next.map_or(retry, |n| n.min(retry)));
        }
        if let Some(at) = next {
            storage.set_alarm(at as i64).await?;
        }
        Ok(())
    }
}

/// Calls the tenant's gate object (each call in the request's log line).
pub struct DoTenant(pub Option<ObjectNamespace>, pub Obs);

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Admit { .. } => "admit",
            Op::Bump => "bump",
            Op::Charge { .. } => "charge",
            Op::Totals { .. } => "totals",
            Op::Begin { .. } => "begin",
            Op::Complete { .. } => "complete",
            Op::Abandon { .. } => "abandon",
            Op::Settle { .. } => "settle",
            Op::Stream { .. } => "stream",
            Op::Flush => "flush",
            Op::ResetAudit => "reset audit",
        }
    }
}

impl DoTenant {
    async fn call<T: for<'de> Deserialize<'de>>(&self, tenant_id: &str, op: Op) -> StoreResult<T> {
        let ns = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("TENANT binding missing".into()))?;
        let name = op.name();
        let call = Call {
            tenant: tenant_id.to_string(),
            op,
        };
        let result = self
            .1
            .call("tenant", name, async {
                let mut resp =
                    super::objects::post_json(ns, tenant_id, "https://tenant/op", &call).await?;
                resp.json::<T>().await
            })
            .await;
        result.map_err(|e| StoreError::Transient(e.to_string()))
    }
}

impl Gate for DoTenant {
    async fn admit(&self, tenant_id: &str, ask: &Ask) -> StoreResult<Answer> {
        self.call(tenant_id, Op::Admit { ask: ask.clone() }).await
    }

    async fn bump(&self, tenant_id: &str) -> StoreResult<u64> {
        self.call(tenant_id, Op::Bump).await
    }

    async fn settle(&self, tenant_id: &str, work: &Settle) -> StoreResult<()> {
        let op = Op::Settle { work: work.clone() };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn hold_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<bool> {
        let op = Op::Stream {
            key: key.to_string(),
            id: stream_id.to_string(),
            hold: true,
        };
        self.call(tenant_id, op).await
    }

    async fn drop_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<()> {
        let op = Op::Stream {
            key: key.to_string(),
            id: stream_id.to_string(),
            hold: false,
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn flush(&self, tenant_id: &str) -> StoreResult<()> {
        self.call::<bool>(tenant_id, Op::Flush).await.map(|_| ())
    }

    async fn reset_audit(&self, tenant_id: &str) -> StoreResult<()> {
        self.call::<bool>(tenant_id, Op::ResetAudit)
            .await
            .map(|_| ())
    }
}

impl UsageMeter for DoTenant {
    async fn charge(&self, tenant_id: &str, month: &str, charge: &Charge) -> StoreResult<Charged> {
        let charge = MonthCharge {
            month: month.to_string(),
            charge: charge.clone(),
        };
        self.call(tenant_id, Op::Charge { charge }).await
    }

    async fn totals(&self, tenant_id: &str, month: &str) -> StoreResult<Totals> {
        let op = Op::Totals {
            month: month.to_string(),
        };
        self.call(tenant_id, op).await
    }
}

impl IdempotencyStore for DoTenant {
    async fn begin(&self, tenant_id: &str, key: &str, fingerprint: &str) -> StoreResult<Outcome> {
        let op = Op::Begin {
            key: key.to_string(),
            fingerprint: fingerprint.to_string(),
        };
        self.call(tenant_id, op).await
    }

    async fn complete(
        &self,
        tenant_id: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let op = Op::Complete {
            key: key.to_string(),
            response: response.clone(),
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn abandon(&self, tenant_id: &str, key: &str) -> StoreResult<()> {
        let op = Op::Abandon {
            key: key.to_string(),
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }
}
