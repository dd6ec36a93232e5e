//! In-memory fakes of the ports, for application tests (native only).
//! Each can be told to fail, to exercise the error paths.

use crate::audit::{Entry, Filter};
use crate::auth::access::{Grantee, Share, Visibility};
use crate::auth::{ApiKey, User};
use crate::documents::Document;
use crate::jobs::{CommandState, Job, JobError, JobMessage, JobStatus};
use crate::ports::{
    BlobStore, Clock, Directory, Entropy, HttpClient, IdpRecord, JobQueue, MetaStore, Ports,
    RateLimiter, StoreError, StoreResult, WebhookSender, WebhookStore,
};
use crate::webhooks::{Delivery, DeliveryStatus, WebhookMessage};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::HashMap;

mod gate;
pub use gate::MemGate;

/// The in-memory port set.
pub struct MemPorts;

impl Ports for MemPorts {
    type Meta = MemMeta;
    type Blobs = crate::crypto::blobs::EncryptedBlobs<MemBlobs, CountingEntropy>;
    type Queue = MemQueue;
    type Entropy = CountingEntropy;
    type Webhooks = MemWebhooks;
    type Limiter = MemLimiter;
    type Gate = MemGate;
    type Directory = MemDirectory;
    type Http = MemHttp;
    type Breakers = MemBreakers;
    type Ops = MemOps;
}

/// Users, identity providers and audit entries in memory.
#[derive(Default)]
pub struct MemDirectory {
    pub users: RefCell<Vec<User>>,
    pub idps: RefCell<BTreeMap<String, IdpRecord>>,
    /// Shared with [`MemGate`], which appends to it.
    pub audit: std::rc::Rc<RefCell<Vec<Entry>>>,
    pub tombstones: RefCell<BTreeMap<String, crate::tenants::Tombstone>>,
    pub faults: Faults,
}

impl Directory for MemDirectory {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        self.faults.check()?;
        let mut users = self.users.borrow_mut();
        let clash = users.iter().any(|u| {
            u.tenant_id == user.tenant_id
                && ((u.email.is_some() && u.email == user.email)
                    || (u.external_id.is_some() && u.external_id == user.external_id))
        });
        if clash {
            return Err(StoreError::Permanent(
                "UNIQUE constraint failed: users".into(),
            ));
        }
        users.push(user.clone());
        Ok(())
    }
    async fn get_user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.id == id)
            .cloned())
    }
    async fn find_user_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.external_id.as_deref() == Some(external_id))
            .cloned())
    }
    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .filter(|u| u.tenant_id == tenant_id)
            .cloned()
            .collect())
    }
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        self.faults.check()?;
        let mut users = self.users.borrow_mut();
        match users
            .iter_mut()
            .find(|u| u.tenant_id == user.tenant_id && u.id == user.id)
        {
            Some(u) => {
                *u = user.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn put_idp(
        &self,
        tenant_id: &str,
        _issuer: &str,
        config: &str,
        _now_ms: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.idps.borrow_mut().insert(
            tenant_id.to_string(),
            IdpRecord {
                tenant_id: tenant_id.to_string(),
                config: config.to_string(),
                jwks: None,
                jwks_fetched_at_ms: None,
            },
        );
        Ok(())
    }
    async fn get_idp(&self, tenant_id: &str) -> StoreResult<Option<IdpRecord>> {
        self.faults.check()?;
        Ok(self.idps.borrow().get(tenant_id).cloned())
    }
    async fn idps_by_issuer(&self, issuer: &str) -> StoreResult<Vec<IdpRecord>> {
        self.faults.check()?;
        Ok(self
            .idps
            .borrow()
            .values()
            .filter(|r| {
                serde_json::from_str::<serde_json::Value>(&r.config)
                    .ok()
                    .and_then(|c| c["issuer"].as_str().map(|i| i == issuer))
                    .unwrap_or(false)
            })
            .cloned()
            .collect())
    }
    async fn delete_idp(&self, tenant_id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        Ok(self.idps.borrow_mut().remove(tenant_id).is_some())
    }
    async fn save_jwks(&self, tenant_id: &str, jwks: Option<&str>, at_ms: u64) -> StoreResult<()> {
        self.faults.check()?;
        if let Some(r) = self.idps.borrow_mut().get_mut(tenant_id) {
            if let Some(j) = jwks {
                r.jwks = Some(j.to_string());
            }
            r.jwks_fetched_at_ms = Some(at_ms);
        }
        Ok(())
    }
    async fn audit_head(&self, tenant_id: &str) -> StoreResult<Option<(u64, String)>> {
        self.faults.check()?;
        Ok(self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id)
            .max_by_key(|e| e.seq)
            .map(|e| (e.seq, e.hash.clone())))
    }
    async fn insert_audit(&self, entry: &Entry) -> StoreResult<bool> {
        self.faults.check()?;
        let mut audit = self.audit.borrow_mut();
        if audit
            .iter()
            .any(|e| e.tenant_id == entry.tenant_id && e.seq == entry.seq)
        {
            return Ok(false);
        }
        audit.push(entry.clone());
        Ok(true)
    }
    async fn list_audit(
        &self,
        tenant_id: &str,
        filter: &Filter,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        self.faults.check()?;
        let mut out: Vec<Entry> = self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id && before_seq.is_none_or(|b| e.seq < b))
            .filter(|e| filter.admits(e))
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out.truncate(limit as usize);
        Ok(out)
    }
    async fn erase_directory(&self, t: &crate::tenants::Tombstone) -> StoreResult<u64> {
        self.faults.check()?;
        let mut audit = self.audit.borrow_mut();
        let before = audit.len();
        audit.retain(|e| e.tenant_id != t.tenant_id);
        let erased = (before - audit.len()) as u64;
        self.users
            .borrow_mut()
            .retain(|u| u.tenant_id != t.tenant_id);
        self.idps.borrow_mut().remove(&t.tenant_id);
        self.tombstones
            .borrow_mut()
            .entry(t.tenant_id.clone())
            .or_insert_with(|| t.clone());
        Ok(erased)
    }
    async fn audit_after(
        &self,
        tenant_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        self.faults.check()?;
        let mut out: Vec<Entry> = self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id && e.seq > after_seq)
            .cloned()
            .collect();
        out.sort_by_key(|e| e.seq);
        out.truncate(limit as usize);
        Ok(out)
    }
}

/// Canned responses by URL (a POST gets the status), with logs of the
/// URLs fetched and the POSTs made.
#[derive(Default)]
pub struct MemHttp {
    pub responses: RefCell<HashMap<String, (u16, String)>>,
    pub fetched: RefCell<Vec<String>>,
    /// POSTs made: (url, headers, body).
    pub posted: RefCell<Vec<SentRequest>>,
}

impl HttpClient for MemHttp {
    async fn get(&self, url: &str) -> Result<(u16, String), String> {
        self.fetched.borrow_mut().push(url.to_string());
        self.responses
            .borrow()
            .get(url)
            .cloned()
            .ok_or_else(|| "connection refused".to_string())
    }

    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String> {
        self.posted
            .borrow_mut()
            .push((url.to_string(), headers.to_vec(), body.to_string()));
        self.responses
            .borrow()
            .get(url)
            .map(|(status, _)| *status)
            .ok_or_else(|| "connection refused".to_string())
    }
}

/// A multipart upload's stored parts: number -> (etag, bytes).
pub type StoredParts = BTreeMap<u32, (String, Vec<u8>)>;

/// An upload's received parts by number.
pub type PartMap = BTreeMap<u32, crate::uploads::Part>;

/// A table row as D1 returns it.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// Metrics rollups, alerts and tables to back up, in memory. Job-based
/// figures come from `jobs`, which tests fill.
#[derive(Default)]
pub struct MemOps {
    pub rollups: RefCell<BTreeMap<(u64, String), crate::ops::metrics::Stats>>,
    pub llm_rollups: RefCell<BTreeMap<(u64, String), crate::ops::jobstats::LlmRollup>>,
    pub job_rollup_mark: Cell<Option<u64>>,
    pub alerts: RefCell<BTreeMap<String, crate::ops::slo::Alert>>,
    pub jobs: RefCell<Vec<crate::ports::JobTiming>>,
    /// Dead letters by received time and whether replayed.
    pub dead_letters: RefCell<Vec<(u64, bool)>>,
    /// Table name -> rows, for backups.
    pub tables: RefCell<Vec<(String, Vec<Row>)>>,
    pub faults: Faults,
}

impl crate::ports::OpsStore for MemOps {
    async fn add_metrics(&self, rollups: &[crate::ops::metrics::Rollup]) -> StoreResult<()> {
        self.faults.check()?;
        let mut stored = self.rollups.borrow_mut();
        for r in rollups {
            stored
                .entry((r.minute, r.name.clone()))
                .or_default()
                .merge(&r.stats);
        }
        Ok(())
    }

    async fn metrics_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<(String, crate::ops::metrics::Stats)>> {
        self.faults.check()?;
        let mut by_name: BTreeMap<String, crate::ops::metrics::Stats> = BTreeMap::new();
        for ((minute, name), stats) in self.rollups.borrow().iter() {
            if *minute >= from_minute {
                by_name.entry(name.clone()).or_default().merge(stats);
            }
        }
        Ok(by_name.into_iter().collect())
    }

    async fn prune_metrics(&self, before_minute: u64) -> StoreResult<u64> {
        let mut stored = self.rollups.borrow_mut();
        let mut llm = self.llm_rollups.borrow_mut();
        let before = stored.len() + llm.len();
        stored.retain(|(minute, _), _| *minute >= before_minute);
        llm.retain(|(minute, _), _| *minute >= before_minute);
        Ok((before - stored.len() - llm.len()) as u64)
    }

    async fn finished_jobs(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::ports::JobTiming>> {
        self.faults.check()?;
        let mut out: Vec<_> = self
            .jobs
            .borrow()
            .iter()
            .filter(|t| {
                t.job
                    .finished_at_ms
                    .is_some_and(|f| f >= from_ms && f < to_ms)
            })
            .cloned()
            .collect();
        out.sort_by_key(|t| t.job.finished_at_ms);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn put_job_rollups(
        &self,
        rows: &[crate::ops::metrics::Rollup],
        llm: &[crate::ops::jobstats::LlmRollup],
        upto_minute: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        let mut stored = self.rollups.borrow_mut();
        for r in rows {
            stored.insert((r.minute, r.name.clone()), r.stats.clone());
        }
        let mut stored = self.llm_rollups.borrow_mut();
        for m in llm {
            stored.insert((m.minute, m.model.clone()), m.clone());
        }
        self.job_rollup_mark.set(Some(upto_minute));
        Ok(())
    }

    async fn job_rollup_mark(&self) -> StoreResult<Option<u64>> {
        self.faults.check()?;
        Ok(self.job_rollup_mark.get())
    }

    async fn llm_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<crate::ops::jobstats::LlmRollup>> {
        self.faults.check()?;
        let mut by_model: BTreeMap<String, crate::ops::jobstats::LlmRollup> = BTreeMap::new();
        for ((minute, model), m) in self.llm_rollups.borrow().iter() {
            if *minute >= from_minute {
                let sum = by_model.entry(model.clone()).or_default();
                sum.minute = from_minute;
                sum.model = model.clone();
                sum.commands += m.commands;
                sum.input_tokens += m.input_tokens;
                sum.output_tokens += m.output_tokens;
                sum.cost_usd += m.cost_usd;
            }
        }
        Ok(by_model.into_values().collect())
    }

    async fn job_sli(
        &self,
        from_ms: u64,
        now_ms: u64,
        within_ms: u64,
    ) -> StoreResult<crate::ops::slo::Sli> {
        let mut sli = crate::ops::slo::Sli::default();
        for t in self.jobs.borrow().iter() {
            let j = &t.job;
            let ended = j.status.is_terminal();
            if j.created_at_ms < from_ms
                || j.status == JobStatus::Cancelled
                || !(ended || j.created_at_ms + within_ms < now_ms)
            {
                continue;
            }
            sli.total += 1;
            if j.status == JobStatus::Succeeded
                && j.finished_at_ms
                    .is_some_and(|f| f.saturating_sub(j.created_at_ms) <= within_ms)
            {
                sli.good += 1;
            }
        }
        Ok(sli)
    }

    async fn dead_letter_depth(&self, since_ms: u64) -> StoreResult<u64> {
        Ok(self
            .dead_letters
            .borrow()
            .iter()
            .filter(|(at, replayed)| *at >= since_ms && !replayed)
            .count() as u64)
    }

    async fn stored_totals(&self) -> StoreResult<(u64, u64)> {
        Ok((0, 0))
    }

    async fn list_alerts(&self) -> StoreResult<Vec<crate::ops::slo::Alert>> {
        self.faults.check()?;
        Ok(self.alerts.borrow().values().cloned().collect())
    }

    async fn put_alert(&self, alert: &crate::ops::slo::Alert) -> StoreResult<()> {
        self.faults.check()?;
        self.alerts
            .borrow_mut()
            .insert(alert.id.clone(), alert.clone());
        Ok(())
    }

    async fn backup_tables(&self) -> StoreResult<Vec<String>> {
        Ok(self
            .tables
            .borrow()
            .iter()
            .map(|(t, _)| t.clone())
            .collect())
    }

    async fn backup_rows(
        &self,
        table: &str,
        after_rowid: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, serde_json::Map<String, serde_json::Value>)>> {
        let tables = self.tables.borrow();
        let rows = tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, rows)| rows.clone())
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as i64 + 1, r))
            .filter(|(id, _)| *id > after_rowid)
            .take(limit as usize)
            .collect())
    }
}

/// Makes the next `n` calls of a fake fail with a transient error, after
/// letting some through if asked; counts the calls (each would be a round
/// trip at the edge).
#[derive(Default)]
pub struct Faults(Cell<u32>, Cell<u32>, Cell<u32>);

impl Faults {
    /// Calls made so far.
    pub fn calls(&self) -> u32 {
        self.2.get()
    }

    pub fn fail_next(&self, n: u32) {
        self.0.set(n);
    }

    /// Lets `skip` calls succeed, then fails the `n` after them.
    pub fn fail_after(&self, skip: u32, n: u32) {
        self.1.set(skip);
        self.0.set(n);
    }

    fn check(&self) -> StoreResult<()> {
        self.2.set(self.2.get() + 1);
        if self.1.get() > 0 {
            self.1.set(self.1.get() - 1);
            return Ok(());
        }
        match self.0.get() {
            0 => Ok(()),
            n => {
                self.0.set(n - 1);
                Err(StoreError::Transient("injected fault".into()))
            }
        }
    }
}

#[derive(Default)]
pub struct MemBlobs {
    pub objects: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Upload time of each object, from `now_ms` at `put`.
    pub uploaded: RefCell<HashMap<String, u64>>,
    pub now_ms: Cell<u64>,
    pub faults: Faults,
    /// Bytes handed out by `get` and `read_range`.
    pub bytes_read: Cell<u64>,
    /// Unfinished multipart uploads: id -> part number -> (etag, bytes).
    pub multipart: RefCell<BTreeMap<String, StoredParts>>,
}

impl BlobStore for MemBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.objects.borrow_mut().insert(key.to_string(), bytes);
        self.uploaded
            .borrow_mut()
            .insert(key.to_string(), self.now_ms.get());
        Ok(())
    }
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.faults.check()?;
        let found = self.objects.borrow().get(key).cloned();
        let n = found.as_ref().map_or(0, Vec::len) as u64;
        self.bytes_read.set(self.bytes_read.get() + n);
        Ok(found)
    }
    async fn read_range(
        &self,
        key: &str,
        _size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.faults.check()?;
        Ok(self.objects.borrow().get(key).map(|all| {
            let from = (offset as usize).min(all.len());
            let to = (offset.saturating_add(len) as usize).min(all.len());
            self.bytes_read
                .set(self.bytes_read.get() + (to - from) as u64);
            all[from..to].to_vec()
        }))
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.objects.borrow_mut().remove(key);
        Ok(())
    }
    async fn start_multipart(&self, key: &str, _size: u64, _part_size: u64) -> StoreResult<String> {
        self.faults.check()?;
        let id = format!("mpu-{}-{}", key, self.multipart.borrow().len());
        self.multipart
            .borrow_mut()
            .insert(id.clone(), BTreeMap::new());
        Ok(id)
    }
    async fn put_part(
        &self,
        _key: &str,
        upload_id: &str,
        _layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String> {
        self.faults.check()?;
        let etag = format!("etag-{n}-{}", bytes.len());
        match self.multipart.borrow_mut().get_mut(upload_id) {
            Some(parts) => {
                parts.insert(n, (etag.clone(), bytes));
                Ok(etag)
            }
            None => Err(StoreError::Permanent("no such multipart upload".into())),
        }
    }
    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()> {
        self.faults.check()?;
        let stored = self
            .multipart
            .borrow_mut()
            .remove(upload_id)
            .ok_or_else(|| StoreError::Permanent("no such multipart upload".into()))?;
        let mut object = Vec::new();
        for (n, etag) in parts {
            match stored.get(n) {
                Some((e, bytes)) if e == etag => object.extend_from_slice(bytes),
                _ => return Err(StoreError::Permanent(format!("part {n} does not match"))),
            }
        }
        self.objects.borrow_mut().insert(key.to_string(), object);
        self.uploaded
            .borrow_mut()
            .insert(key.to_string(), self.now_ms.get());
        Ok(())
    }
    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.multipart.borrow_mut().remove(upload_id);
        Ok(())
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)> {
        self.faults.check()?;
        let objects = self.objects.borrow();
        let uploaded = self.uploaded.borrow();
        let page: Vec<(String, u64)> = objects
            .keys()
            .filter(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .take(limit as usize)
            .map(|k| (k.clone(), uploaded.get(k).copied().unwrap_or(0)))
            .collect();
        let next = (page.len() == limit as usize).then(|| page.last().map(|(k, _)| k.clone()));
        Ok((page, next.flatten()))
    }
    async fn ping(&self) -> StoreResult<()> {
        self.faults.check()
    }
}

#[derive(Default)]
pub struct MemMeta {
    pub keys: RefCell<Vec<ApiKey>>,
    pub tenants: RefCell<BTreeMap<String, crate::tenants::Tenant>>,
    pub documents: RefCell<BTreeMap<String, Document>>,
    pub jobs: RefCell<BTreeMap<String, Job>>,
    pub shares: RefCell<Vec<(String, Share)>>,
    pub dead_letters: RefCell<BTreeMap<String, crate::jobs::DeadLetter>>,
    /// Tenants asked to be erased, with when.
    pub erasing: RefCell<BTreeMap<String, u64>>,
    /// When each document's object was last checked by the sweep.
    pub verified: RefCell<HashMap<String, u64>>,
    /// Uploads in progress with their parts by number.
    pub uploads: RefCell<BTreeMap<String, (crate::uploads::Upload, PartMap)>>,
    pub faults: Faults,
    /// While set, every insert fails with a transient error.
    pub fail_inserts: Cell<bool>,
    /// While set, an insert takes effect and then fails, and so does the
    /// next call (a lost acknowledgement, then a moment of outage).
    pub lose_insert_acks: Cell<bool>,
    /// `doc:`/`job:` + tenant + Idempotency-Key -> the id created under it.
    pub idempotency_keys: RefCell<HashMap<String, String>>,
    /// Lookups by Idempotency-Key that miss (a read that has not yet seen
    /// another request's write), counted down.
    pub stale_key_lookups: Cell<u32>,
    /// Times the sweeper re-sent each job.
    pub resends: RefCell<HashMap<String, u32>>,
}

impl MemMeta {
    fn insert_allowed(&self) -> StoreResult<()> {
        if self.fail_inserts.get() {
            Err(StoreError::Transient("injected insert failure".into()))
        } else {
            Ok(())
        }
    }

    /// Claims `key` for `id` (kind `doc` or `job`): a second row under the
    /// same key is refused, as the unique index does in D1.
    fn claim_idempotency_key(
        &self,
        kind: &str,
        tenant_id: &str,
        key: Option<&str>,
        id: &str,
        exists: impl Fn(&str) -> bool,
    ) -> StoreResult<()> {
        let Some(key) = key else { return Ok(()) };
        let mut keys = self.idempotency_keys.borrow_mut();
        let slot = format!("{kind}:{tenant_id}:{key}");
        if keys.get(&slot).is_some_and(|other| exists(other)) {
            return Err(StoreError::Permanent(
                "UNIQUE constraint failed: idempotency_key".into(),
            ));
        }
        keys.insert(slot, id.to_string());
        Ok(())
    }

    fn id_for_key(&self, kind: &str, tenant_id: &str, key: &str) -> Option<String> {
        if self.stale_key_lookups.get() > 0 {
            self.stale_key_lookups.set(self.stale_key_lookups.get() - 1);
            return None;
        }
        let slot = format!("{kind}:{tenant_id}:{key}");
        self.idempotency_keys.borrow().get(&slot).cloned()
    }

    /// After an insert took effect: fail it, and the next call, when asked.
    fn ack(&self) -> StoreResult<()> {
        if self.lose_insert_acks.get() {
            self.faults.fail_next(1);
            return Err(StoreError::Transient(
                "injected lost acknowledgement".into(),
            ));
        }
        Ok(())
    }

    fn update_job(&self, id: &str, f: impl FnOnce(&mut Job)) -> StoreResult<()> {
        self.faults.check()?;
        if let Some(job) = self.jobs.borrow_mut().get_mut(id) {
            f(job);
        }
        Ok(())
    }
}

impl MetaStore for MemMeta {
    async fn ping(&self) -> StoreResult<()> {
        self.faults.check()
    }
    async fn find_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        self.faults.check()?;
        let tenants = self.tenants.borrow();
        Ok(self
            .keys
            .borrow()
            .iter()
            .find(|k| k.hash == hash)
            .cloned()
            .map(|mut k| {
                if let Some(t) = tenants.get(&k.tenant_id) {
                    k.plan = t.plan.clone();
                    k.tenant_active = t.status == "active";
                    k.tenant_retention_days = t.retention_days;
                }
                k
            }))
    }
    async fn insert_tenant(
        &self,
        tenant: &crate::tenants::Tenant,
        owner: &ApiKey,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.tenants
            .borrow_mut()
            .insert(tenant.id.clone(), tenant.clone());
        self.keys.borrow_mut().push(owner.clone());
        Ok(())
    }
    async fn list_tenants(&self) -> StoreResult<Vec<crate::tenants::Tenant>> {
        self.faults.check()?;
        Ok(self.tenants.borrow().values().cloned().collect())
    }
    async fn get_tenant(&self, id: &str) -> StoreResult<Option<crate::tenants::Tenant>> {
        self.faults.check()?;
        Ok(self.tenants.borrow().get(id).cloned())
    }
    async fn request_erase(&self, tenant_id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut tenants = self.tenants.borrow_mut();
        let Some(t) = tenants.get_mut(tenant_id) else {
            return Ok(false);
        };
        t.status = "suspended".into();
        self.erasing
            .borrow_mut()
            .entry(tenant_id.to_string())
            .or_insert(now_ms);
        Ok(true)
    }
    async fn tenants_to_erase(&self, limit: u32) -> StoreResult<Vec<(String, u64)>> {
        self.faults.check()?;
        Ok(self
            .erasing
            .borrow()
            .iter()
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }
    async fn erase_tenant_rows(&self, tenant_id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.shares.borrow_mut().retain(|(t, _)| t != tenant_id);
        self.jobs
            .borrow_mut()
            .retain(|_, j| j.tenant_id != tenant_id);
        self.documents
            .borrow_mut()
            .retain(|_, d| d.tenant_id != tenant_id);
        self.keys.borrow_mut().retain(|k| k.tenant_id != tenant_id);
        self.tenants.borrow_mut().remove(tenant_id);
        self.erasing.borrow_mut().remove(tenant_id);
        Ok(())
    }
    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>> {
        self.faults.check()?;
        Ok(self
            .jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == tenant_id)
            .cloned()
            .collect())
    }
    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>> {
        self.faults.check()?;
        Ok(self
            .shares
            .borrow()
            .iter()
            .filter(|(t, _)| t == tenant_id)
            .map(|(_, s)| s.clone())
            .collect())
    }
    async fn update_tenant(
        &self,
        id: &str,
        changes: &crate::tenants::UpdateTenant,
    ) -> StoreResult<Option<crate::tenants::Tenant>> {
        self.faults.check()?;
        let (plan, status) = (changes.plan.as_deref(), changes.status.as_deref());
        let mut tenants = self.tenants.borrow_mut();
        Ok(tenants.get_mut(id).map(|t| {
            match changes.retention_days {
                Some(-1) => t.retention_days = None,
                Some(d) => t.retention_days = Some(d as u64),
                None => {}
            }
            match changes.llm_tiers.as_deref() {
                Some("") => t.llm_tiers = None,
                Some(v) => t.llm_tiers = Some(v.to_string()),
                None => {}
            }
            if let Some(p) = plan {
                t.plan = p.to_string();
            }
            if let Some(s) = status {
                t.status = s.to_string();
            }
            t.clone()
        }))
    }
    async fn insert_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.faults.check()?;
        self.keys.borrow_mut().push(key.clone());
        Ok(())
    }
    async fn list_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKey>> {
        self.faults.check()?;
        let keys = self.keys.borrow();
        Ok(keys
            .iter()
            .filter(|k| k.tenant_id == tenant_id)
            .cloned()
            .collect())
    }
    async fn revoke_key(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        let key = keys
            .iter_mut()
            .find(|k| k.tenant_id == tenant_id && k.id == id && k.revoked_at_ms.is_none());
        Ok(key.map(|k| k.revoked_at_ms = Some(now_ms)).is_some())
    }
    async fn get_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKey>> {
        self.faults.check()?;
        let keys = self.keys.borrow();
        Ok(keys
            .iter()
            .find(|k| k.tenant_id == tenant_id && k.id == id)
            .cloned())
    }
    async fn rotate_key(
        &self,
        tenant_id: &str,
        old_id: &str,
        new: &ApiKey,
        old_expires_at_ms: u64,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        let Some(old) = keys.iter_mut().find(|k| {
            k.tenant_id == tenant_id
                && k.id == old_id
                && k.revoked_at_ms.is_none()
                && k.rotated_to.is_none()
        }) else {
            return Ok(false);
        };
        old.rotated_to = Some(new.id.clone());
        old.expires_at_ms = Some(
            old.expires_at_ms
                .map_or(old_expires_at_ms, |e| e.min(old_expires_at_ms)),
        );
        keys.push(new.clone());
        Ok(true)
    }
    async fn touch_key(&self, id: &str, now_ms: u64, since_ms: u64) -> StoreResult<()> {
        self.faults.check()?;
        let mut keys = self.keys.borrow_mut();
        if let Some(k) = keys.iter_mut().find(|k| k.id == id) {
            if k.last_used_at_ms.is_none_or(|t| t < since_ms) {
                k.last_used_at_ms = Some(now_ms);
            }
        }
        Ok(())
    }
    async fn list_shares(&self, tenant_id: &str, document_id: &str) -> StoreResult<Vec<Share>> {
        self.faults.check()?;
        Ok(self
            .shares
            .borrow()
            .iter()
            .filter(|(t, s)| t == tenant_id && s.document_id == document_id)
            .map(|(_, s)| s.clone())
            .collect())
    }
    async fn put_share(&self, tenant_id: &str, share: &Share) -> StoreResult<()> {
        self.faults.check()?;
        let mut shares = self.shares.borrow_mut();
        shares.retain(|(_, s)| !(s.document_id == share.document_id && s.grantee == share.grantee));
        shares.push((tenant_id.to_string(), share.clone()));
        Ok(())
    }
    async fn delete_share(
        &self,
        tenant_id: &str,
        document_id: &str,
        grantee: &Grantee,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut shares = self.shares.borrow_mut();
        let before = shares.len();
        shares.retain(|(t, s)| {
            !(t == tenant_id && s.document_id == document_id && s.grantee == *grantee)
        });
        Ok(shares.len() < before)
    }
    async fn insert_upload(&self, upload: &crate::uploads::Upload) -> StoreResult<()> {
        self.faults.check()?;
        self.uploads
            .borrow_mut()
            .insert(upload.id.clone(), (upload.clone(), BTreeMap::new()));
        Ok(())
    }
    async fn get_upload(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::uploads::Upload>> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .get(id)
            .filter(|(u, _)| u.tenant_id == tenant_id)
            .map(|(u, _)| u.clone()))
    }
    async fn put_upload_part(
        &self,
        upload_id: &str,
        part: &crate::uploads::Part,
        now_ms: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        if let Some((u, parts)) = self.uploads.borrow_mut().get_mut(upload_id) {
            u.updated_at_ms = now_ms;
            parts.insert(part.number, part.clone());
        }
        Ok(())
    }
    async fn list_upload_parts(&self, upload_id: &str) -> StoreResult<Vec<crate::uploads::Part>> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .get(upload_id)
            .map(|(_, parts)| parts.values().cloned().collect())
            .unwrap_or_default())
    }
    async fn advance_upload_hash(
        &self,
        upload_id: &str,
        hashed_parts: u32,
        state: &str,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        let mut uploads = self.uploads.borrow_mut();
        match uploads.get_mut(upload_id) {
            Some((u, _)) if u.hashed_parts == hashed_parts => {
                u.hashed_parts += 1;
                u.hash_state = state.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete_upload(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        let mut uploads = self.uploads.borrow_mut();
        if uploads
            .get(id)
            .is_some_and(|(u, _)| u.tenant_id == tenant_id)
        {
            uploads.remove(id);
            return Ok(true);
        }
        Ok(false)
    }
    async fn idle_uploads(
        &self,
        before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::uploads::Upload>> {
        self.faults.check()?;
        let mut idle: Vec<_> = self
            .uploads
            .borrow()
            .values()
            .map(|(u, _)| u.clone())
            .filter(|u| u.updated_at_ms < before_ms)
            .collect();
        idle.sort_by_key(|u| u.updated_at_ms);
        idle.truncate(limit as usize);
        Ok(idle)
    }
    async fn documents_to_verify(&self, before_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let verified = self.verified.borrow();
        let mut docs: Vec<Document> = self
            .documents
            .borrow()
            .values()
            .filter(|d| d.created_at_ms < before_ms)
            .cloned()
            .collect();
        docs.sort_by_key(|d| verified.get(&d.id).copied());
        docs.truncate(limit as usize);
        Ok(docs)
    }
    async fn mark_verified(
        &self,
        _tenant_id: &str,
        id: &str,
        now_ms: u64,
        missing: bool,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.verified.borrow_mut().insert(id.to_string(), now_ms);
        if let Some(d) = self.documents.borrow_mut().get_mut(id) {
            d.missing_at_ms = if missing {
                d.missing_at_ms.or(Some(now_ms))
            } else {
                None
            };
        }
        Ok(())
    }
    async fn has_open_upload(&self, tenant_id: &str, document_id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        Ok(self
            .uploads
            .borrow()
            .values()
            .any(|(u, _)| u.tenant_id == tenant_id && u.document_id == document_id))
    }
    async fn insert_document(&self, doc: &Document, key: Option<&str>) -> StoreResult<()> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.claim_idempotency_key("doc", &doc.tenant_id, key, &doc.id, |id| {
            self.documents.borrow().contains_key(id)
        })?;
        self.documents
            .borrow_mut()
            .insert(doc.id.clone(), doc.clone());
        self.ack()
    }
    async fn document_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> StoreResult<Option<Document>> {
        self.faults.check()?;
        let id = self.id_for_key("doc", tenant_id, key);
        Ok(id.and_then(|id| self.documents.borrow().get(&id).cloned()))
    }
    async fn expired_documents(&self, now_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs
            .values()
            .filter(|d| d.expires_at_ms.is_some_and(|e| e <= now_ms))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn get_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs.get(id).filter(|d| d.tenant_id == tenant_id).cloned())
    }
    async fn list_documents(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
        visibility: Option<&Visibility>,
    ) -> StoreResult<Vec<Document>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        let shares = self.shares.borrow();
        let visible = |d: &Document| {
            visibility.is_none_or(|v| {
                let of_doc: Vec<Share> = shares
                    .iter()
                    .filter(|(t, s)| *t == d.tenant_id && s.document_id == d.id)
                    .map(|(_, s)| s.clone())
                    .collect();
                v.admits(d.owner.as_deref(), &of_doc)
            })
        };
        Ok(docs
            .values()
            .rev()
            .filter(|d| d.tenant_id == tenant_id && before.is_none_or(|b| d.id.as_str() < b))
            .filter(|d| visible(d))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn count_documents_with_sha256(&self, tenant_id: &str, sha256: &str) -> StoreResult<u64> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        Ok(docs
            .values()
            .filter(|d| d.tenant_id == tenant_id && d.sha256 == sha256)
            .count() as u64)
    }
    async fn delete_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<Job>>> {
        self.faults.check()?;
        let mut docs = self.documents.borrow_mut();
        if docs.get(id).is_none_or(|d| d.tenant_id != tenant_id) {
            return Ok(None);
        }
        docs.remove(id);
        self.shares
            .borrow_mut()
            .retain(|(_, s)| s.document_id != id);
        let mut jobs = self.jobs.borrow_mut();
        let gone: Vec<Job> = jobs
            .values()
            .filter(|j| j.document_id == id)
            .cloned()
            .collect();
        jobs.retain(|_, j| j.document_id != id);
        Ok(Some(gone))
    }
    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)> {
        self.faults.check()?;
        let jobs = self.jobs.borrow();
        // As `stalled_jobs`, a queued job counts from its `created_at`.
        let active = || {
            jobs.values().filter(|j| match j.status {
                JobStatus::Running => j.lease_until_ms.is_some_and(|l| l >= now_ms),
                JobStatus::Queued => j.created_at_ms >= queued_since_ms,
                _ => false,
            })
        };
        let mine = active().filter(|j| j.tenant_id == tenant_id).count() as u64;
        Ok((mine, active().count() as u64))
    }
    async fn insert_job(&self, job: &Job, key: Option<&str>) -> StoreResult<()> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.claim_idempotency_key("job", &job.tenant_id, key, &job.id, |id| {
            self.jobs.borrow().contains_key(id)
        })?;
        self.jobs.borrow_mut().insert(job.id.clone(), job.clone());
        self.ack()
    }
    async fn job_by_idempotency_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        let id = self.id_for_key("job", tenant_id, key);
        Ok(id.and_then(|id| self.jobs.borrow().get(&id).cloned()))
    }
    async fn delete_job(&self, tenant_id: &str, id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.jobs
            .borrow_mut()
            .retain(|_, j| !(j.id == id && j.tenant_id == tenant_id));
        Ok(())
    }
    async fn get_job(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        let jobs = self.jobs.borrow();
        Ok(jobs.get(id).filter(|j| j.tenant_id == tenant_id).cloned())
    }
    async fn load_job(&self, id: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        Ok(self.jobs.borrow().get(id).cloned())
    }
    async fn record_delivery(&self, id: &str) -> StoreResult<()> {
        self.update_job(id, |j| j.deliveries += 1)
    }
    async fn claim_job(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(job) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let expired = job.lease_until_ms.is_some_and(|l| l < now_ms);
        let claimable =
            job.status == JobStatus::Queued || (job.status == JobStatus::Running && expired);
        if claimable {
            job.status = JobStatus::Running;
            job.attempts += 1;
            job.lease_until_ms = Some(lease_until_ms);
            job.started_at_ms.get_or_insert(now_ms);
            job.progress = job.progress.max(5);
        }
        Ok(claimable)
    }
    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        _now_ms: u64,
    ) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.progress = progress;
                j.command_states = commands.to_vec();
            }
        })
    }
    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(id) {
            Some(j) if j.tenant_id == tenant_id && !j.status.is_terminal() => {
                j.status = JobStatus::Cancelled;
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn complete_job(&self, id: &str, now_ms: u64) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.status = JobStatus::Succeeded;
                j.progress = 100;
                j.error = None;
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
            }
        })
    }
    async fn fail_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.status = JobStatus::Failed;
                j.error = Some(error.clone());
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
            }
        })
    }
    async fn insert_dead_letter(&self, d: &crate::jobs::DeadLetter) -> StoreResult<()> {
        self.faults.check()?;
        self.dead_letters
            .borrow_mut()
            .entry(d.id.clone())
            .or_insert_with(|| d.clone());
        Ok(())
    }
    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<crate::jobs::DeadLetter>> {
        self.faults.check()?;
        let mut all: Vec<_> = self.dead_letters.borrow().values().cloned().collect();
        all.sort_by_key(|d| std::cmp::Reverse(d.received_at_ms));
        all.truncate(limit as usize);
        Ok(all)
    }
    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<crate::jobs::DeadLetter>> {
        self.faults.check()?;
        Ok(self.dead_letters.borrow().get(id).cloned())
    }
    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut all = self.dead_letters.borrow_mut();
        match all.get_mut(id) {
            Some(d) if d.replayed_at_ms.is_none() => {
                d.replayed_at_ms = Some(now_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn revive_job(&self, id: &str, _now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(id) {
            Some(j)
                if j.status == JobStatus::Failed
                    && j.error.as_ref().is_some_and(|e| e.code == "dead_lettered") =>
            {
                j.status = JobStatus::Queued;
                j.attempts = 0;
                j.error = None;
                j.finished_at_ms = None;
                j.lease_until_ms = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn stalled_jobs(
        &self,
        now_ms: u64,
        queued_before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::Stalled>> {
        self.faults.check()?;
        // The fake keeps no `updated_at`: a queued job counts from when it
        // was created.
        let resends = self.resends.borrow();
        Ok(self
            .jobs
            .borrow()
            .values()
            .filter(|j| match j.status {
                JobStatus::Running => j.lease_until_ms.is_some_and(|l| l < now_ms),
                JobStatus::Queued => j.created_at_ms < queued_before_ms,
                _ => false,
            })
            .take(limit as usize)
            .map(|j| crate::jobs::Stalled {
                id: j.id.clone(),
                attempts: j.attempts,
                resends: resends.get(&j.id).copied().unwrap_or(0),
            })
            .collect())
    }
    async fn requeue_stalled(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(j) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let stalled = j.status == JobStatus::Queued
            || (j.status == JobStatus::Running && j.lease_until_ms.is_some_and(|l| l < now_ms));
        if stalled {
            j.status = JobStatus::Queued;
            j.lease_until_ms = None;
            // Counted from now, like `updated_at` at the edge.
            j.created_at_ms = now_ms;
            *self.resends.borrow_mut().entry(id.to_string()).or_default() += 1;
        }
        Ok(stalled)
    }
    async fn fail_stalled(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(j) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let stalled = j.status == JobStatus::Queued
            || (j.status == JobStatus::Running && j.lease_until_ms.is_some_and(|l| l < now_ms));
        if stalled {
            j.status = JobStatus::Failed;
            j.error = Some(error.clone());
            j.finished_at_ms = Some(now_ms);
            j.lease_until_ms = None;
        }
        Ok(stalled)
    }
    async fn release_job(&self, id: &str, error: &JobError, _now_ms: u64) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.status = JobStatus::Queued;
                j.error = Some(error.clone());
                j.lease_until_ms = None;
            }
        })
    }
}

/// A queue that records what was sent.
#[derive(Default)]
pub struct MemQueue {
    pub sent: RefCell<Vec<JobMessage>>,
    pub webhooks_sent: RefCell<Vec<WebhookMessage>>,
    pub faults: Faults,
}

impl JobQueue for MemQueue {
    async fn send(&self, msg: &JobMessage) -> StoreResult<()> {
        self.faults.check()?;
        self.sent.borrow_mut().push(msg.clone());
        Ok(())
    }
    async fn send_webhook(&self, msg: &WebhookMessage) -> StoreResult<()> {
        self.faults.check()?;
        self.webhooks_sent.borrow_mut().push(msg.clone());
        Ok(())
    }
    async fn ping(&self) -> StoreResult<()> {
        self.faults.check()
    }
}

/// Deterministic "randomness": a counter, so ids differ and tests repeat.
#[derive(Default)]
pub struct CountingEntropy(Cell<u64>);

impl Entropy for CountingEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            let n = self.0.get().wrapping_add(1);
            self.0.set(n);
            *b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
        }
    }
}

/// A clock that moves only when told to.
#[derive(Default)]
pub struct ManualClock(pub Cell<u64>);

impl ManualClock {
    pub fn at(ms: u64) -> ManualClock {
        ManualClock(Cell::new(ms))
    }

    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    /// Moves time on instead of waiting, and records the wait.
    async fn sleep(&self, ms: u64) {
        self.advance(ms);
    }
}

/// Circuit breakers in memory (one isolate's view; the edge shares them).
#[derive(Default)]
pub struct MemBreakers {
    pub breakers: RefCell<BTreeMap<String, crate::llm::breaker::Breaker>>,
    pub now_ms: Cell<u64>,
}

impl crate::llm::BreakerStore for MemBreakers {
    async fn allow(&self, target: &str, policy: crate::llm::breaker::Policy) -> bool {
        let now = self.now_ms.get();
        self.breakers
            .borrow_mut()
            .entry(target.to_string())
            .or_default()
            .allow(now, policy)
    }
    async fn record(&self, target: &str, ok: bool, policy: crate::llm::breaker::Policy) {
        let now = self.now_ms.get();
        self.breakers
            .borrow_mut()
            .entry(target.to_string())
            .or_default()
            .record(ok, now, policy);
    }
    async fn state(&self, target: &str) -> Option<crate::llm::breaker::Breaker> {
        self.breakers.borrow().get(target).cloned()
    }
}

/// One scripted answer of [`ScriptedLlm`].
#[derive(Debug, Clone)]
pub enum LlmScript {
    /// Answer with this text (usage reported as given).
    Answer(String, Option<(u32, u32)>),
    /// Fail: retryable or not.
    Fail(bool),
    /// Answer cut off (`finish_reason: length`).
    Truncated,
}

/// An LLM provider that answers from a script per `provider/model` (the
/// last entry repeats), and records every request.
#[derive(Default)]
pub struct ScriptedLlm {
    pub scripts: RefCell<HashMap<String, Vec<LlmScript>>>,
    pub calls: RefCell<Vec<(String, crate::llm::LlmRequest)>>,
}

impl ScriptedLlm {
    pub fn script(&self, target: &str, steps: Vec<LlmScript>) {
        self.scripts.borrow_mut().insert(target.to_string(), steps);
    }
}

impl crate::llm::LlmProvider for ScriptedLlm {
    async fn complete(
        &self,
        target: &crate::llm::Target,
        req: &crate::llm::LlmRequest,
    ) -> Result<crate::llm::LlmResponse, crate::llm::LlmError> {
        let id = target.id();
        self.calls.borrow_mut().push((id.clone(), req.clone()));
        let step = {
            let mut scripts = self.scripts.borrow_mut();
            let steps = scripts.entry(id.clone()).or_default();
            match steps.len() {
                0 => LlmScript::Fail(false),
                1 => steps[0].clone(),
                _ => steps.remove(0),
            }
        };
        let ok = |text: String, usage: Option<(u32, u32)>, reason: &str| crate::llm::LlmResponse {
            text,
            input_tokens: usage.map(|u| u.0),
            output_tokens: usage.map(|u| u.1),
            finish_reason: reason.into(),
        };
        match step {
            LlmScript::Answer(text, usage) => Ok(ok(text, usage, "stop")),
            LlmScript::Truncated => Ok(ok("{\"summ".into(), Some((10, 1)), "length")),
            LlmScript::Fail(retryable) => Err(crate::llm::LlmError {
                message: format!("scripted failure of {id}"),
                retryable,
            }),
        }
    }
}

/// Webhook secrets and deliveries in memory.
#[derive(Default)]
pub struct MemWebhooks {
    pub secrets: RefCell<HashMap<String, String>>,
    pub deliveries: RefCell<BTreeMap<String, Delivery>>,
    leases: RefCell<HashMap<String, u64>>,
}

impl WebhookStore for MemWebhooks {
    async fn tenant_secret_or_insert(
        &self,
        tenant_id: &str,
        candidate: &str,
    ) -> StoreResult<String> {
        let mut secrets = self.secrets.borrow_mut();
        Ok(secrets
            .entry(tenant_id.to_string())
            .or_insert_with(|| candidate.to_string())
            .clone())
    }
    async fn tenant_secret(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        Ok(self.secrets.borrow().get(tenant_id).cloned())
    }
    async fn insert_delivery(&self, d: &Delivery) -> StoreResult<()> {
        self.deliveries
            .borrow_mut()
            .entry(d.id.clone())
            .or_insert_with(|| d.clone());
        Ok(())
    }
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        Ok(self.deliveries.borrow().get(id).cloned())
    }
    async fn list_deliveries(&self, tenant_id: &str, job_id: &str) -> StoreResult<Vec<Delivery>> {
        let all = self.deliveries.borrow();
        Ok(all
            .values()
            .filter(|d| d.tenant_id == tenant_id && d.job_id == job_id)
            .cloned()
            .collect())
    }
    async fn claim_delivery(
        &self,
        id: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> StoreResult<bool> {
        let mut all = self.deliveries.borrow_mut();
        let Some(d) = all.get_mut(id) else {
            return Ok(false);
        };
        let mut leases = self.leases.borrow_mut();
        let free = leases.get(id).is_none_or(|l| *l < now_ms);
        if d.status != DeliveryStatus::Pending || !free {
            return Ok(false);
        }
        d.attempts += 1;
        leases.insert(id.to_string(), lease_until_ms);
        Ok(true)
    }
    async fn finish_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        http_status: Option<u16>,
        error: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<()> {
        if let Some(d) = self.deliveries.borrow_mut().get_mut(id) {
            d.status = status;
            d.last_status_code = http_status;
            d.last_error = error.map(str::to_string);
            if status == DeliveryStatus::Succeeded {
                d.delivered_at_ms = Some(now_ms);
            }
        }
        self.leases.borrow_mut().remove(id);
        Ok(())
    }
}

/// One request a [`ScriptedSender`] received: url, headers, body.
pub type SentRequest = (String, Vec<(String, String)>, String);

/// A webhook receiver that answers with scripted statuses and records what
/// it was sent (url, headers, body).
#[derive(Default)]
pub struct ScriptedSender {
    /// Statuses to answer, in order; 200 once they run out.
    pub script: RefCell<Vec<Result<u16, String>>>,
    pub received: RefCell<Vec<SentRequest>>,
}

impl WebhookSender for ScriptedSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String> {
        self.received
            .borrow_mut()
            .push((url.to_string(), headers.to_vec(), body.to_string()));
        let mut script = self.script.borrow_mut();
        if script.is_empty() {
            Ok(200)
        } else {
            script.remove(0)
        }
    }
}

/// GCRA state in memory, on its own manual clock.
#[derive(Default)]
pub struct MemLimiter {
    pub now_ms: Cell<u64>,
    tats: RefCell<HashMap<String, u64>>,
    pub faults: Faults,
}

impl RateLimiter for MemLimiter {
    async fn check(
        &self,
        subject: &str,
        policy: &crate::ratelimit::Policy,
    ) -> StoreResult<crate::ratelimit::Decision> {
        self.faults.check()?;
        let key = format!("{subject}/{}", policy.name);
        let tat = self.tats.borrow().get(&key).copied();
        let (next, decision) = crate::ratelimit::check(tat, policy, self.now_ms.get());
        if decision.allowed {
            self.tats.borrow_mut().insert(key, next);
        }
        Ok(decision)
    }
}

/// A streamed request body from memory, handed out in pieces of at most
/// `piece` bytes (as a network would).
pub struct VecSource {
    pub data: RefCell<Vec<u8>>,
    pub pos: Cell<usize>,
    pub piece: usize,
}

impl VecSource {
    pub fn new(data: Vec<u8>, piece: usize) -> VecSource {
        VecSource {
            data: RefCell::new(data),
            pos: Cell::new(0),
            piece,
        }
    }
}

impl crate::http::ChunkSource for VecSource {
    fn read(
        &self,
        max: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + '_>> {
        let data = self.data.borrow();
        let start = self.pos.get().min(data.len());
        let end = (start + max.min(self.piece)).min(data.len());
        self.pos.set(end);
        let chunk = data[start..end].to_vec();
        Box::pin(async move { Ok(chunk) })
    }
}
