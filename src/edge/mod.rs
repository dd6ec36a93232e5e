//! The Workers edge: entry points, conversion between `worker` and core HTTP
//! types, and construction of the port adapters from the environment.
//! Nothing here decides anything a test would want to check natively.

#[cfg(all(feature = "api", feature = "jobs"))]
compile_error!("a wasm32 build is one worker: build with `--features api` or `--features jobs`");
#[cfg(not(any(feature = "api", feature = "jobs")))]
compile_error!("a wasm32 build is one worker: build with `--features api` or `--features jobs`");

mod breakers;
#[cfg(feature = "jobs")]
mod consumer;
#[cfg(feature = "api")]
mod crons;
#[cfg(feature = "jobs")]
mod crypto_bench;
mod d1;
mod directory;
mod edge_cache;
#[cfg(feature = "api")]
mod events;
#[cfg(feature = "api")]
mod fetch;
mod idempotency;
#[cfg(feature = "jobs")]
mod jobs_fetch;
mod limiter;
#[cfg(feature = "jobs")]
mod llm;
#[cfg(feature = "api")]
mod metrics;
mod objects;
mod observe;
#[cfg(feature = "jobs")]
pub(crate) mod ocr;
mod ops;
mod regions;
#[cfg(feature = "api")]
mod sessions;
mod signatures;
mod storage;
#[cfg(feature = "api")]
mod streams;
mod tenant;
#[cfg(feature = "api")]
mod test_routes;
mod uploads;
mod usage;
mod webcrypto;

use crate::app::App;
use crate::config::Config;
use crate::crypto::blobs::EncryptedBlobs;
use crate::error::ApiError;
use crate::http;
use crate::ports::Entropy;
use d1::D1Meta;
use observe::Obs;
use serde_json::json;
use storage::{CryptoEntropy, FetchSender, JobsQueue, R2Blobs};
use worker::{event, Context, Env, Request, Response};

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
    type Breakers = breakers::DoBreakers;
    type Ops = D1Meta;
    type Signatures = signatures::WebCryptoSignatures;
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
    app_over(env, config, obs, d1::Databases::of(env)?)
}

/// The app with its D1 statements going to `dbs` (a request's sessions).
fn app_over(
    env: &Env,
    config: Config,
    obs: &Obs,
    dbs: std::rc::Rc<d1::Databases>,
) -> worker::Result<EdgeApp> {
    let keys = config.master_keys.clone();
    let plain = !config.encrypt_at_rest;
    // The Cache API works for a Worker on a custom domain; the jobs
    // worker (queue invocations) reads R2 directly.
    let cache = (config.edge_cache && cfg!(feature = "api"))
        .then(|| config.master_keys.active_id().to_string());
    let regions = regions::Regions::bind(env, dbs.clone(), &config)?;
    let d1 = || -> worker::Result<D1Meta> { Ok(D1Meta(dbs.clone(), obs.clone())) };
    Ok(App {
        config,
        meta: d1()?,
        blobs: EncryptedBlobs {
            inner: R2Blobs(
                env.bucket("DOCUMENTS")?,
                obs.clone(),
                cache,
                regions.clone(),
            ),
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
        gate: tenant::DoTenant(env.durable_object("TENANT").ok(), obs.clone(), regions),
        credentials: CREDENTIALS.with(std::rc::Rc::clone),
        directory: d1()?,
        http: FetchSender(obs.clone()),
        breakers: breakers::DoBreakers(env.durable_object("CIRCUIT_BREAKER").ok()),
        ops: d1()?,
        signatures: signatures::WebCryptoSignatures,
    })
}

fn log(value: serde_json::Value) {
    worker::console_log!("{value}");
}

fn headers_of(resp: &http::Response) -> worker::Result<worker::Headers> {
    let headers = worker::Headers::new();
    for (name, value) in &resp.headers {
        headers.set(name, value)?;
    }
    Ok(headers)
}

fn to_worker(resp: http::Response) -> worker::Result<Response> {
    let headers = headers_of(&resp)?;
    let out = if resp.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(resp.body)?
    };
    Ok(out.with_status(resp.status).with_headers(headers))
}
