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
use crate::ports::{DeadLetterStore, DocumentStore, JobStore, KeyStore, TenantStore, UploadStore};
use crate::webhooks::{Delivery, DeliveryStatus, WebhookMessage};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::HashMap;

mod gate;

mod dead_letters;
mod documents;
mod jobs;
mod keys;
mod tenants;
mod uploads;
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
