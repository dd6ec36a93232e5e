//! The tenants' gates in memory: the same [`quire::gate::Tenant`] logic the
//! Durable Object runs, on a manual clock, with its audit entries written
//! to the shared [`super::MemDirectory`] store.

use super::Faults;
use quire::audit::Entry;
use quire::gate::{Answer, Ask, MonthCharge, Settle, Tenant};
use quire::idempotency::{Entry as Record, Outcome, StoredResponse};
use quire::ports::{Gate, IdempotencyStore, StoreResult, UsageMeter};
use quire::usage::{Charge, Charged, Totals};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

#[derive(Default)]
pub struct MemGate {
    /// The objects' own clock (the edge's reads the wall clock).
    pub now_ms: Cell<u64>,
    tenants: RefCell<HashMap<String, Tenant>>,
    records: RefCell<HashMap<String, Record>>,
    once: RefCell<HashSet<String>>,
    /// Where appended entries go (the directory's audit table).
    pub audit: Rc<RefCell<Vec<Entry>>>,
    /// Entries kept while the directory refused them.
    pending: RefCell<Vec<Entry>>,
    /// Fails calls to the gate itself.
    pub faults: Faults,
    /// Fails the gate's writes to the directory.
    pub directory_faults: Faults,
    /// Idempotency keys begun on their own (not with a request's admission).
    pub lone_begins: Cell<u32>,
}

impl MemGate {
    /// A gate writing its audit entries to `audit`.
    pub fn new(audit: Rc<RefCell<Vec<Entry>>>) -> MemGate {
        MemGate {
            audit,
            ..MemGate::default()
        }
    }

    /// Forgets every idempotency key, as after the records expired.
    pub fn forget_all(&self) {
        self.records.borrow_mut().clear();
    }

    /// A month's totals for a tenant.
    pub fn totals_of(&self, tenant_id: &str, month: &str) -> Totals {
        self.tenants
            .borrow()
            .get(tenant_id)
            .and_then(|t| t.usage.get(month).cloned())
            .unwrap_or_default()
    }

    /// Sets a month's total, as if that much had been used.
    pub fn set_total(&self, tenant_id: &str, month: &str, metric: &str, value: i64) {
        self.with(tenant_id, |t| {
            t.usage
                .entry(month.to_string())
                .or_default()
                .insert(metric.to_string(), value);
        });
    }

    /// The writes the tenant's gate holds as in flight.
    pub fn writes_held(&self, tenant_id: &str) -> usize {
        self.with(tenant_id, |t| t.writes.len())
    }

    fn enter(&self) -> StoreResult<()> {
        self.faults.check()
    }

    fn with<T>(&self, tenant_id: &str, f: impl FnOnce(&mut Tenant) -> T) -> T {
        let mut all = self.tenants.borrow_mut();
        let t = all.entry(tenant_id.to_string()).or_insert_with(|| {
            // A new object finds the chain where the directory has it.
            let head = self
                .audit
                .borrow()
                .iter()
                .filter(|e| e.tenant_id == tenant_id)
                .max_by_key(|e| e.seq)
                .map(|e| (e.seq, e.hash.clone()));
            Tenant {
                audit_head: head,
                ..Tenant::default()
            }
        });
        f(t)
    }

    fn once_seen(&self, tenant_id: &str, mc: &MonthCharge) -> bool {
        mc.charge.once.as_ref().is_some_and(|id| {
            !self
                .once
                .borrow_mut()
                .insert(format!("{tenant_id}/{}/{id}", mc.month))
        })
    }

    fn write_pending(&self) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        for entry in pending {
            if self.directory_faults.check().is_err() {
                self.pending.borrow_mut().push(entry);
                continue;
            }
            let mut audit = self.audit.borrow_mut();
            let taken = audit
                .iter()
                .any(|e| e.tenant_id == entry.tenant_id && e.seq == entry.seq);
            if !taken {
                audit.push(entry);
            }
        }
    }
}

impl Gate for MemGate {
    async fn admit(&self, tenant_id: &str, ask: &Ask) -> StoreResult<Answer> {
        self.enter()?;
        let id = ask.begin.as_ref().map(|b| format!("{tenant_id}/{}", b.key));
        let existing = id
            .as_ref()
            .and_then(|i| self.records.borrow().get(i).cloned());
        let once = ask
            .charge
            .as_ref()
            .is_some_and(|mc| self.once_seen(tenant_id, mc));
        let now = self.now_ms.get();
        let (answer, changes) =
            self.with(tenant_id, |t| t.admit(ask, existing.as_ref(), once, now));
        if let (Some(id), Some(entry)) = (id, changes.entry) {
            self.records.borrow_mut().insert(id, entry);
        }
        Ok(answer)
    }

    async fn bump(&self, tenant_id: &str) -> StoreResult<u64> {
        self.enter()?;
        Ok(self.with(tenant_id, Tenant::bump))
    }

    async fn settle(&self, tenant_id: &str, work: &Settle) -> StoreResult<()> {
        self.enter()?;
        let now = self.now_ms.get();
        for mc in &work.charges {
            let once = self.once_seen(tenant_id, mc);
            self.with(tenant_id, |t| t.charge(mc, once));
        }
        for (draft, throttle) in &work.audits {
            let entry = self.with(tenant_id, |t| {
                let allowed = throttle
                    .as_ref()
                    .is_none_or(|th| t.throttle_allows(th, now));
                allowed.then(|| t.append(draft.clone()))
            });
            self.pending.borrow_mut().extend(entry);
        }
        self.write_pending();
        self.with(tenant_id, |t| t.end_writes(&work.writes_done));
        Ok(())
    }

    async fn hold_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<bool> {
        self.enter()?;
        let now = self.now_ms.get();
        Ok(self.with(tenant_id, |t| t.hold_stream(key, stream_id, now)))
    }

    async fn drop_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<()> {
        self.enter()?;
        self.with(tenant_id, |t| t.drop_stream(key, stream_id));
        Ok(())
    }

    async fn flush(&self, _tenant_id: &str) -> StoreResult<()> {
        self.enter()?;
        self.write_pending();
        Ok(())
    }

    async fn reset_audit(&self, tenant_id: &str) -> StoreResult<()> {
        self.enter()?;
        self.pending
            .borrow_mut()
            .retain(|e| e.tenant_id != tenant_id);
        self.with(tenant_id, |t| t.audit_head = None);
        Ok(())
    }

    /// No time passes here: the writes still running now.
    async fn drain_writes(&self, tenant_id: &str, _wait_ms: u64) -> StoreResult<u64> {
        self.enter()?;
        let now = self.now_ms.get();
        Ok(self.with(tenant_id, |t| t.writes_before_bump(now)))
    }
}

impl UsageMeter for MemGate {
    async fn charge(&self, tenant_id: &str, month: &str, charge: &Charge) -> StoreResult<Charged> {
        self.enter()?;
        let mc = MonthCharge {
            month: month.to_string(),
            charge: charge.clone(),
        };
        let once = self.once_seen(tenant_id, &mc);
        Ok(self.with(tenant_id, |t| t.charge(&mc, once)))
    }

    async fn totals(&self, tenant_id: &str, month: &str) -> StoreResult<Totals> {
        self.enter()?;
        Ok(self.totals_of(tenant_id, month))
    }
}

impl IdempotencyStore for MemGate {
    async fn begin(&self, tenant_id: &str, key: &str, fingerprint: &str) -> StoreResult<Outcome> {
        self.enter()?;
        self.lone_begins.set(self.lone_begins.get() + 1);
        let id = format!("{tenant_id}/{key}");
        let mut records = self.records.borrow_mut();
        let (outcome, entry) =
            quire::idempotency::begin(records.get(&id), fingerprint, self.now_ms.get());
        if let Some(e) = entry {
            records.insert(id, e);
        }
        Ok(outcome)
    }

    async fn complete(
        &self,
        tenant_id: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        self.enter()?;
        if let Some(e) = self
            .records
            .borrow_mut()
            .get_mut(&format!("{tenant_id}/{key}"))
        {
            e.response = Some(response.clone());
        }
        Ok(())
    }

    async fn abandon(&self, tenant_id: &str, key: &str) -> StoreResult<()> {
        self.enter()?;
        self.records
            .borrow_mut()
            .remove(&format!("{tenant_id}/{key}"));
        Ok(())
    }
}
