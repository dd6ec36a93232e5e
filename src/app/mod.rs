//! The application: routes a core [`Request`] to its handler over the ports
//! and renders every outcome, errors included, as a [`Response`].
//!
//! Handlers live in one file per resource; each is parse → core → map.

mod admin;
mod audit;
mod background;
mod backups;
mod cleanup;
mod console;
mod dispatch;
mod documents;
mod gate;
mod idempotent;
mod identity;
mod intake;
mod jobs;
mod keys;
mod limits;
mod moves;
pub(crate) mod ocr_models;
mod ops;
mod privacy;
mod reconcile;
mod rollups;
mod shares;
pub(crate) mod system;
mod tenants;
mod training;
mod uploads;
mod usage;
mod users;

use crate::config::Config;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::Ports;
use std::cell::RefCell;

/// Per-request facts supplied by the edge (the core reads no clock).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now_ms: u64,
    pub request_id: String,
    /// This request's span (W3C Trace Context), set by the edge.
    pub trace: Option<crate::trace::TraceContext>,
    /// Who called and what failed, for the edge's request log line.
    pub log: RefCell<RequestLog>,
    /// Problems met on the way that did not fail the request (an audit
    /// append that failed, say), for the edge to log.
    pub warnings: RefCell<Vec<String>>,
    /// Work for after the response (see [`App::finish`]).
    pub after: RefCell<Vec<After>>,
}

/// Work a request leaves for after its response, which the edge runs in
/// `waitUntil`: nothing the client waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// An audit entry, through the tenant's gate.
    Audit {
        draft: crate::audit::Draft,
        throttle: Option<crate::gate::Throttle>,
    },
    /// A usage count that refuses nothing (documents or jobs created).
    Charge {
        tenant_id: String,
        month: String,
        charge: crate::usage::Charge,
    },
    /// A write the tenant's gate holds as in flight is over (last: what the
    /// request wrote, its last-use time included, is written by then).
    WriteDone {
        tenant_id: String,
        request_id: String,
    },
    /// A key's `last_used_at`, written at most once per interval.
    Touch {
        key_id: String,
        now_ms: u64,
        since_ms: u64,
    },
}

impl Ctx {
    pub fn new(now_ms: u64, request_id: impl Into<String>) -> Ctx {
        Ctx {
            now_ms,
            request_id: request_id.into(),
            trace: None,
            log: RefCell::new(RequestLog::default()),
            warnings: RefCell::new(Vec::new()),
            after: RefCell::new(Vec::new()),
        }
    }

    /// Leaves work for after the response.
    pub fn defer(&self, work: After) {
        self.after.borrow_mut().push(work);
    }

    /// The work left for after the response.
    pub fn take_after(&self) -> Vec<After> {
        std::mem::take(&mut *self.after.borrow_mut())
    }

    pub fn with_trace(mut self, trace: crate::trace::TraceContext) -> Ctx {
        self.trace = Some(trace);
        self
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.warnings.borrow_mut().push(message.into());
    }
}

/// What the request log line says about a request beyond method, path and
/// status (never secrets or document content).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RequestLog {
    pub route: Option<String>,
    pub tenant_id: Option<String>,
    pub key_id: Option<String>,
    pub error_code: Option<&'static str>,
    /// The shard of the tenant the request turned out to be for (the
    /// work left for after the response goes there too).
    pub shard: Option<u32>,
}

/// The application over its ports.
pub struct App<P: Ports> {
    pub config: Config,
    pub meta: P::Meta,
    pub blobs: P::Blobs,
    pub queue: P::Queue,
    pub entropy: P::Entropy,
    pub webhooks: P::Webhooks,
    pub limiter: P::Limiter,
    /// The tenants' gates: limits, usage, idempotency, auth epoch, audit.
    pub gate: P::Gate,
    /// Credentials this isolate remembers (see [`crate::auth::cache`]).
    pub credentials: std::rc::Rc<crate::auth::cache::Credentials>,
    pub directory: P::Directory,
    pub http: P::Http,
    pub breakers: P::Breakers,
    pub ops: P::Ops,
    /// Public-key checks of JWT signatures.
    pub signatures: P::Signatures,
}

impl<P: Ports> App<P> {
    /// Sends the request's tenant queries to `shard` (and the work left
    /// for after the response).
    pub(crate) fn enter_for(&self, ctx: &Ctx, shard: u32) {
        crate::ports::ShardStore::enter(&self.meta, shard);
        ctx.log.borrow_mut().shard = Some(shard);
    }
}

pub use cleanup::SweepReport;
pub use dispatch::required_scope;
pub use ops::SloReport;

/// The `cursor` of a list paged by id: an id with `prefix` from a previous
/// page's `next_cursor`, else 422 `invalid_cursor`.
fn id_cursor(req: &Request, prefix: &str) -> Result<Option<String>, ApiError> {
    match req.query_param("cursor") {
        Some(c) if !crate::ids::looks_like_id(prefix, &c) => Err(ApiError::Invalid(
            "invalid_cursor",
            "cursor must be a next_cursor value from a previous page".into(),
        )),
        other => Ok(other),
    }
}

/// The `limit` query parameter of a paged list: `default` when absent,
/// 422 `invalid_limit` unless an integer from 1 to `max`.
fn page_limit(req: &Request, default: u32, max: u32) -> Result<u32, ApiError> {
    match req.query_param("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::Invalid(
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {max}"),
                )
            }),
    }
}

/// A query parameter that must be one of `choices` when present: 422
/// `invalid_parameter` naming them otherwise.
fn query_choice(
    req: &Request,
    name: &str,
    choices: &[&'static str],
) -> Result<Option<&'static str>, ApiError> {
    match req.query_param(name) {
        None => Ok(None),
        Some(v) => choices
            .iter()
            .find(|c| **c == v)
            .map(|c| Some(*c))
            .ok_or_else(|| {
                ApiError::Invalid(
                    "invalid_parameter",
                    format!("{name} must be one of {}", choices.join(", ")),
                )
            }),
    }
}

/// A `201 Created` JSON response with its `Location`.
fn created(location: &str, body: &impl serde::Serialize) -> Response {
    Response::json(201, body).with_header("location", location)
}
