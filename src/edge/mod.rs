//! The Workers edge: entry points, conversion between `worker` and core HTTP
//! types, and construction of the port adapters from the environment.
//! Nothing here decides anything a test would want to check natively.

mod background;
mod d1;
mod directory;
mod events;
mod fetch;
mod idempotency;
mod limiter;
mod llm;
mod objects;
mod observe;
mod ops;
mod storage;
mod tenant;
mod uploads;
mod usage;
mod webcrypto;

use crate::app::{App, Ctx};
use crate::config::Config;
use crate::crypto::blobs::EncryptedBlobs;
use crate::error::ApiError;
use crate::http::{self, Method};
use crate::ids::new_id;
use crate::jobs::runner::{process_delivery, RunnerLimits, RunnerPorts};
use crate::jobs::Disposition;
use crate::jobs::QueueEnvelope;
use crate::ports::Entropy;
use crate::webhooks::runner::process_webhook;
use d1::D1Meta;
use observe::Obs;
use serde_json::json;
use storage::{CryptoEntropy, FetchSender, JobsQueue, R2Blobs, WallClock};
use worker::{
    event, Context, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Request, Response,
};

/// The most of a body read before the caller is authenticated.
const PREAUTH_BODY: u64 = 64 * 1024;
/// Bodies other than document uploads are small JSON; refuse big ones unread.
const MAX_JSON_BODY: u64 = 1024 * 1024;
/// Room for multipart framing around an upload at the size limit.
const MULTIPART_SLACK: u64 = 64 * 1024;
/// Bodies read whole into memory (forms, and uploads without a
/// `Content-Length`) stop here; larger raw uploads are streamed.
const BUFFERED_UPLOAD_MAX: u64 = 25 * 1024 * 1024;

/// A request body read as the app asks for it, piece by piece.
struct EdgeSource {
    stream: std::cell::RefCell<Option<worker::ByteStream>>,
    left: std::cell::RefCell<Vec<u8>>,
}

impl http::ChunkSource for EdgeSource {
    fn read(
        &self,
        max: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + '_>> {
        Box::pin(async move {
            use futures_util::StreamExt;
            let mut chunk = std::mem::take(&mut *self.left.borrow_mut());
            if chunk.is_empty() {
                let Some(mut stream) = self.stream.borrow_mut().take() else {
                    return Ok(Vec::new());
                };
                let next = stream.next().await;
                *self.stream.borrow_mut() = Some(stream);
                chunk = match next {
                    Some(Ok(bytes)) => bytes,
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Ok(Vec::new()),
                };
            }
            if chunk.len() > max {
                *self.left.borrow_mut() = chunk.split_off(max);
            }
            Ok(chunk)
        })
    }
}

/// The Workers port set.
struct EdgePorts;

impl crate::ports::Ports for EdgePorts {
    type Meta = D1Meta;
    type Blobs = EncryptedBlobs<R2Blobs, CryptoEntropy, webcrypto::WebCryptoCipher>;
    type Queue = JobsQueue;
    type Entropy = CryptoEntropy;
    type Webhooks = D1Meta;
    type Limiter = limiter::DoLimiter;
    type Gate = tenant::DoTenant;
    type Directory = D1Meta;
    type Http = FetchSender;
    type Breakers = llm::DoBreakers;
    type Ops = D1Meta;
}

type EdgeApp = App<EdgePorts>;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    /// The configuration, parsed on the isolate's first event: vars and
    /// secrets are fixed for an isolate's life (a deploy starts new ones).
    static CONFIG: std::cell::OnceCell<Result<Config, crate::config::ConfigError>> =
        const { std::cell::OnceCell::new() };
    /// Credentials remembered between this isolate's requests.
    static CREDENTIALS: std::rc::Rc<crate::auth::cache::Credentials> = Default::default();
}

fn config(env: &Env) -> Result<Config, crate::config::ConfigError> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            Config::from_lookup(|name| {
                env.var(name)
                    .map(|v| v.to_string())
                    .or_else(|_| env.secret(name).map(|s| s.to_string()))
                    .ok()
            })
        })
        .clone()
    })
}

/// The app for one request, queue message or cron run; `obs` names it in
/// the call logs and carries the fault-injection switch.
fn app(env: &Env, config: Config, obs: &Obs) -> worker::Result<EdgeApp> {
    let keys = config.master_keys.clone();
    let plain = !config.encrypt_at_rest;
    let d1 = || -> worker::Result<D1Meta> { Ok(D1Meta(env.d1("DB")?, obs.clone())) };
    Ok(App {
        config,
        meta: d1()?,
        blobs: EncryptedBlobs {
            inner: R2Blobs(env.bucket("DOCUMENTS")?, obs.clone()),
            keys,
            entropy: CryptoEntropy,
            plain,
            cipher: webcrypto::WebCryptoCipher::new()
                .map_err(|e| worker::Error::RustError(e.to_string()))?,
        },
        queue: JobsQueue(env.queue("JOBS").ok(), obs.clone()),
        entropy: CryptoEntropy,
        webhooks: d1()?,
        limiter: limiter::DoLimiter(env.durable_object("RATE_LIMITER").ok()),
        gate: tenant::DoTenant(env.durable_object("TENANT").ok(), obs.clone()),
        credentials: CREDENTIALS.with(std::rc::Rc::clone),
        directory: d1()?,
        http: FetchSender(obs.clone()),
        breakers: llm::DoBreakers(env.durable_object("CIRCUIT_BREAKER").ok()),
        ops: d1()?,
    })
}

fn log(value: serde_json::Value) {
    worker::console_log!("{value}");
}
