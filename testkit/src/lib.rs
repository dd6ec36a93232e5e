//! In-memory fakes of the ports, for application tests (native only).
//! Each can be told to fail, to exercise the error paths. [`world`] is the
//! application tests' world over them (`spawn_app`).

#![allow(async_fn_in_trait)]

use quire::audit::{Entry, Filter};
use quire::auth::access::{Grantee, Share, Visibility};
use quire::auth::{ApiKey, User};
use quire::documents::Document;
use quire::jobs::{CommandState, Job, JobError, JobMessage, JobStatus};
use quire::ports::{
    BlobStore, Clock, Directory, Entropy, HttpClient, IdpRecord, JobQueue, MetaStore, Ports,
    RateLimiter, StoreError, StoreResult, WebhookSender, WebhookStore,
};
use quire::ports::{DeadLetterStore, DocumentStore, JobStore, KeyStore, TenantStore, UploadStore};
use quire::webhooks::{Delivery, DeliveryStatus, WebhookMessage};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::HashMap;

pub mod world;

mod gate;

mod dead_letters;
mod documents;
mod jobs;
mod keys;
mod parts;
mod tenants;
mod uploads;

mod blobs;
mod directory;
mod llm;
mod ocr;
mod ops;
mod webhooks;
pub use blobs::MemBlobs;
pub use directory::MemDirectory;
pub use gate::MemGate;
pub use llm::{LlmScript, MemBreakers, ScriptedLlm};
pub use ocr::{NoOcr, ScriptedOcr};
pub use ops::MemOps;
pub use quire::auth::jwt::PureSignatures;
pub use webhooks::{MemWebhooks, ScriptedSender, SentRequest};

/// The in-memory port set.
pub struct MemPorts;

impl Ports for MemPorts {
    type Meta = MemMeta;
    type Blobs = quire::crypto::blobs::EncryptedBlobs<MemBlobs, CountingEntropy>;
    type Queue = MemQueue;
    type Entropy = CountingEntropy;
    type Webhooks = MemWebhooks;
    type Limiter = MemLimiter;
    type Gate = MemGate;
    type Directory = MemDirectory;
    type Http = MemHttp;
    type Breakers = MemBreakers;
    type Ops = MemOps;
    type Signatures = PureSignatures;
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
pub type PartMap = BTreeMap<u32, quire::uploads::Part>;

/// A table row as D1 returns it.
pub type Row = serde_json::Map<String, serde_json::Value>;

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
pub struct MemMeta {
    pub keys: RefCell<Vec<ApiKey>>,
    /// Shared (an `Rc`), so a test can change a tenant while a request runs.
    pub tenants: std::rc::Rc<RefCell<BTreeMap<String, quire::tenants::Tenant>>>,
    pub documents: RefCell<BTreeMap<String, Document>>,
    /// Shared (an `Rc`), so a test can change a job while a step runs.
    pub jobs: std::rc::Rc<RefCell<BTreeMap<String, Job>>>,
    pub shares: RefCell<Vec<(String, Share)>>,
    pub dead_letters: RefCell<BTreeMap<String, quire::jobs::DeadLetter>>,
    /// Tenants asked to be erased, with when.
    pub erasing: RefCell<BTreeMap<String, u64>>,
    /// When each document's object was last checked by the sweep.
    pub verified: RefCell<HashMap<String, u64>>,
    /// Uploads in progress with their parts by number.
    pub uploads: RefCell<BTreeMap<String, (quire::uploads::Upload, PartMap)>>,
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
    /// Queued jobs held back for their tenant's turn.
    pub held: RefCell<std::collections::BTreeSet<String>>,
    /// The parts of split jobs, by job and part.
    pub parts: RefCell<BTreeMap<(String, u32), quire::ports::parts::JobPart>>,
    /// Running jobs waiting for their parts.
    pub parked: RefCell<std::collections::BTreeSet<String>>,
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

    /// The tenant's jobs sent to the queue and not ended.
    fn in_flight(&self, tenant_id: &str) -> usize {
        let held = self.held.borrow();
        self.jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == tenant_id && !held.contains(&j.id))
            .filter(|j| matches!(j.status, JobStatus::Queued | JobStatus::Running))
            .count()
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
        policy: &quire::ratelimit::Policy,
    ) -> StoreResult<quire::ratelimit::Decision> {
        self.faults.check()?;
        let key = format!("{subject}/{}", policy.name);
        let tat = self.tats.borrow().get(&key).copied();
        let (next, decision) = quire::ratelimit::check(tat, policy, self.now_ms.get());
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
    /// Run once, when the first piece has been read (something that
    /// happens while a body is still arriving).
    pub meanwhile: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl VecSource {
    pub fn new(data: Vec<u8>, piece: usize) -> VecSource {
        VecSource {
            data: RefCell::new(data),
            pos: Cell::new(0),
            piece,
            meanwhile: RefCell::new(None),
        }
    }

    /// The same source, running `f` once its first piece is read.
    pub fn meanwhile(self, f: impl FnOnce() + 'static) -> VecSource {
        *self.meanwhile.borrow_mut() = Some(Box::new(f));
        self
    }
}

impl quire::http::ChunkSource for VecSource {
    fn read(
        &self,
        max: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + '_>> {
        let data = self.data.borrow();
        let start = self.pos.get().min(data.len());
        let end = (start + max.min(self.piece)).min(data.len());
        self.pos.set(end);
        let chunk = data[start..end].to_vec();
        if let Some(f) = self.meanwhile.borrow_mut().take() {
            f();
        }
        Box::pin(async move { Ok(chunk) })
    }
}
