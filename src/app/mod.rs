//! The application: routes a core [`Request`] to its handler over the ports
//! and renders every outcome, errors included, as a [`Response`].
//!
//! Handlers live in one file per resource; each is parse → core → map.

mod admin;
mod audit;
mod cleanup;
mod documents;
mod gate;
mod idempotent;
mod identity;
mod intake;
mod jobs;
mod keys;
mod limits;
mod ops;
mod privacy;
pub(crate) mod system;
mod tenants;
mod training;
mod uploads;
mod usage;
mod users;

use crate::auth::{Principal, Scope};
use crate::config::Config;
use crate::error::ApiError;
use crate::http::routes::{match_route, spec_of, Auth, Match, RouteId};
use crate::http::{Request, Response};
use crate::ports::{KeyStore, Ports};
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
    /// Handles one request. Never fails: errors become problem+json, and
    /// every response carries `X-Request-Id`.
    pub async fn handle(&self, req: &Request, ctx: &Ctx) -> Response {
        let mut resp = match self.dispatch(req, ctx).await {
            Ok(resp) => resp,
            Err(err) => {
                ctx.log.borrow_mut().error_code = Some(err.code());
                err.to_response(&ctx.request_id)
            }
        };
        resp.set_header("x-request-id", &ctx.request_id);
        if let Some(trace) = &ctx.trace {
            resp.set_header("traceparent", &trace.header());
            if let Some(state) = req.header("tracestate").filter(|s| s.len() <= 512) {
                resp.set_header("tracestate", state);
            }
        }
        if self.config.environment == "production" {
            // Production is served over HTTPS only; browsers must not try
            // plain HTTP for this host again.
            resp.set_header(
                "strict-transport-security",
                "max-age=63072000; includeSubDomains",
            );
        }
        resp
    }

    async fn dispatch(&self, req: &Request, ctx: &Ctx) -> Result<Response, ApiError> {
        let (id, params) = match match_route(req.method, &req.path) {
            Match::Found { id, params } => (id, params),
            Match::MethodNotAllowed { allow } => return Err(ApiError::MethodNotAllowed { allow }),
            Match::NotFound => return Err(ApiError::NotFound(format!("route {}", req.path))),
        };
        let param = params.first().map(String::as_str).unwrap_or("");
        ctx.log.borrow_mut().route = Some(format!("{id:?}"));
        // The operator's routes take the operator key, checked here for all
        // of them; their small bodies (and test routes') are read once it
        // is (tenant routes read theirs once authenticated and admitted).
        let auth = spec_of(id).auth;
        if auth == Auth::Operator {
            tenants::require_operator(self, req)?;
        }
        let loaded;
        let req = if req.deferred.is_some() && matches!(auth, Auth::Operator | Auth::TestOnly) {
            loaded = req.read_deferred().await?;
            &loaded
        } else {
            req
        };
        match id {
            // Probes are never limited: load balancers call them often.
            RouteId::Health => Ok(system::health()),
            RouteId::Ready => Ok(system::ready(self).await),
            RouteId::OpenApi => {
                let granted = limits::for_client(self, req).await?;
                let mut resp = system::openapi();
                granted.apply(&mut resp);
                Ok(resp)
            }
            RouteId::TestRedeliverJob if self.config.enable_test_routes => {
                jobs::redeliver(self, param).await
            }
            // The operator's routes use the operator key, not tenant keys.
            RouteId::CreateTenant => tenants::create(self, req, ctx).await,
            RouteId::ListTenants => tenants::list(self).await,
            RouteId::UpdateTenant => tenants::update(self, req, ctx, param).await,
            RouteId::Rewrap => admin::rewrap(self, req).await,
            RouteId::ListDeadLetters => admin::list_dead_letters(self).await,
            RouteId::ReplayDeadLetter => admin::replay_dead_letter(self, param, ctx.now_ms).await,
            RouteId::AdminMetrics => ops::metrics(self, req, ctx.now_ms).await,
            RouteId::AdminSlo => ops::show_slo(self, ctx.now_ms).await,
            RouteId::ListBackups => ops::list_backups(self).await,
            RouteId::CreateBackup => ops::create_backup(self, ctx.now_ms).await,
            RouteId::GetBackup => ops::get_backup(self, param).await,
            // The API worker forwards this route to the jobs worker before
            // it gets here: its module holds no extractor.
            #[cfg(not(feature = "api"))]
            RouteId::TestExtract if self.config.enable_test_routes => {
                system::test_extract(req.header("content-type"), &req.body)
            }
            RouteId::TestRedeliverJob | RouteId::TestExtract | RouteId::TestRawObject => {
                Err(ApiError::NotFound(format!("route {}", req.path)))
            }
            _ => self.gated(id, &params, req, ctx).await,
        }
    }

    /// A tenant route: the caller authenticated (from the isolate's cache
    /// when it can be), one gate call for limits, budget, Idempotency-Key
    /// and the auth epoch, then the handler; the audit entry is left for
    /// after the response.
    async fn gated(
        &self,
        id: RouteId,
        params: &[String],
        req: &Request,
        ctx: &Ctx,
    ) -> Result<Response, ApiError> {
        let caller = identity::authenticate(self, req, ctx).await?;
        let scope = required_scope(id);
        let permitted = |who: &Principal| scope.map_or(Ok(()), |s| who.require(s));
        // The key is begun with the rest only for a request that may run
        // and whose body is at hand; a deferred body is read first.
        let begin = match permitted(&caller.who) {
            Ok(()) if req.deferred.is_none() => idempotent::begin_of(req, &caller.who),
            _ => None,
        };
        let class = spec_of(id).class;
        let admitted = gate::admit(self, &caller.who, class, ctx, begin).await?;
        let asked_as = caller.who.clone();
        let who = match identity::confirm(self, req, ctx, caller, admitted.epoch).await {
            Ok(who) => who,
            Err(e) => {
                idempotent::release(self, req, &asked_as, admitted.begun.as_ref()).await;
                return Err(e);
            }
        };
        {
            let mut log = ctx.log.borrow_mut();
            log.tenant_id = Some(who.tenant_id.clone());
            log.key_id = Some(who.key_id.clone());
        }
        // A large body is read only now that its sender is known and
        // within its limits.
        let loaded;
        let req = if req.deferred.is_some() {
            loaded = req.read_deferred().await?;
            &loaded
        } else {
            req
        };
        // The scope is checked before an Idempotency-Key can replay
        // anything: a stored response is never a way around it.
        let outcome = match permitted(&who) {
            Ok(()) => {
                let run = || self.dispatch_authenticated(id, params, req, ctx, &who);
                idempotent::run(self, req, &who, ctx, admitted.begun, run).await
            }
            Err(e) => {
                idempotent::release(self, req, &who, admitted.begun.as_ref()).await;
                Err(e)
            }
        };
        if let Some((action, _)) = spec_of(id).audit {
            let param = params.first().map(String::as_str).unwrap_or("");
            let draft = audit::draft_for(&who, req, ctx, action);
            let draft = audit::complete(draft, id, param, req, outcome.as_ref());
            ctx.defer(After::Audit {
                draft,
                throttle: None,
            });
        }
        let mut resp = outcome?;
        admitted.granted.apply(&mut resp);
        Ok(resp)
    }

    async fn dispatch_authenticated(
        &self,
        id: RouteId,
        params: &[String],
        req: &Request,
        ctx: &Ctx,
        who: &Principal,
    ) -> Result<Response, ApiError> {
        let param = params.first().map(String::as_str).unwrap_or("");
        let second = params.get(1).map(String::as_str).unwrap_or("");
        match id {
            RouteId::ListDocuments => documents::list(self, req, who).await,
            RouteId::CreateDocument => documents::create(self, req, ctx, who).await,
            RouteId::GetDocument => documents::get(self, param, who).await,
            RouteId::GetDocumentContent => documents::content(self, req, param, ctx, who).await,
            RouteId::DeleteDocument => documents::delete(self, param, ctx, who).await,
            RouteId::CreateJob => jobs::create(self, req, ctx, who).await,
            RouteId::GetJob => jobs::get(self, param, who).await,
            RouteId::GetJobResult => jobs::result(self, req, param, who).await,
            RouteId::CancelJob => jobs::cancel(self, param, ctx, who).await,
            RouteId::JobEvents => jobs::events(self, param, ctx, who).await,
            RouteId::JobWebhooks => jobs::deliveries(self, param, who).await,
            RouteId::WebhookSecret => keys::webhook_secret(self, who).await,
            RouteId::Usage => usage::report(self, req, who, ctx).await,
            RouteId::ListKeys => keys::list(self, ctx, who).await,
            RouteId::CreateKey => keys::create(self, req, ctx, who).await,
            RouteId::DeleteKey => keys::revoke(self, param, ctx, who).await,
            RouteId::GetKey => keys::get(self, param, ctx, who).await,
            RouteId::RotateKey => keys::rotate(self, req, param, ctx, who).await,
            RouteId::ListUsers => users::list(self, who).await,
            RouteId::CreateUser => users::create(self, req, ctx, who).await,
            RouteId::GetUser => users::get(self, param, who).await,
            RouteId::UpdateUser => users::update(self, req, param, ctx, who).await,
            RouteId::ListShares => documents::list_shares(self, param, who).await,
            RouteId::PutShare => documents::put_share(self, req, param, ctx, who).await,
            RouteId::DeleteShare => documents::delete_share(self, param, second, who).await,
            RouteId::CreateUpload => uploads::create(self, req, ctx, who).await,
            RouteId::GetUpload => uploads::get(self, param, who).await,
            RouteId::PutUploadPart => uploads::put_part(self, req, param, second, ctx, who).await,
            RouteId::CompleteUpload => uploads::complete(self, param, ctx, who).await,
            RouteId::AbortUpload => uploads::abort(self, param, ctx, who).await,
            RouteId::GetIdp => identity::get_idp(self, who).await,
            RouteId::PutIdp => identity::put_idp(self, req, ctx, who).await,
            RouteId::DeleteIdp => identity::delete_idp(self, who).await,
            RouteId::ListAudit => audit::list(self, req, who).await,
            RouteId::VerifyAudit => audit::verify(self, who).await,
            RouteId::Me => Ok(identity::me(who)),
            RouteId::TrainingData => training::export(self, req, who).await,
            RouteId::Export => privacy::export(self, ctx, who).await,
            RouteId::EraseTenant => privacy::erase(self, req, ctx, who).await,
            // Public and operator routes are dispatched before authentication.
            _ => Err(ApiError::Internal(format!(
                "{id:?} reached the authenticated dispatcher"
            ))),
        }
    }
}

/// Work left for after responses, by tenant (in order), and the key
/// touches.
type Grouped = (Vec<(String, crate::gate::Settle)>, Vec<(String, u64, u64)>);

fn group_after(work: Vec<After>) -> Grouped {
    fn settle_for<'a>(
        all: &'a mut Vec<(String, crate::gate::Settle)>,
        tenant: &str,
    ) -> &'a mut crate::gate::Settle {
        let i = match all.iter().position(|(t, _)| t == tenant) {
            Some(i) => i,
            None => {
                all.push((tenant.to_string(), Default::default()));
                all.len() - 1
            }
        };
        &mut all[i].1
    }
    let (mut per_tenant, mut touches) = (Vec::new(), Vec::new());
    for w in work {
        match w {
            After::Audit { draft, throttle } => {
                let tenant = draft.tenant_id.clone();
                settle_for(&mut per_tenant, &tenant)
                    .audits
                    .push((draft, throttle));
            }
            After::Charge {
                tenant_id,
                month,
                charge,
            } => settle_for(&mut per_tenant, &tenant_id)
                .charges
                .push(crate::gate::MonthCharge { month, charge }),
            After::Touch {
                key_id,
                now_ms,
                since_ms,
            } => touches.push((key_id, now_ms, since_ms)),
        }
    }
    (per_tenant, touches)
}

/// The scope a route needs, beyond authentication, as the route table
/// declares it. Per-document rights are checked by the handlers, on top.
pub fn required_scope(id: RouteId) -> Option<Scope> {
    match spec_of(id).auth {
        Auth::Tenant(scope) => scope,
        _ => None,
    }
}

impl<P: Ports> App<P> {
    /// Runs the work requests left for after their responses: one gate
    /// call per tenant for its audit entries and counts, then last-use
    /// times; what failed, for the log.
    pub async fn finish(&self, work: Vec<After>) -> Vec<String> {
        use crate::ports::Gate;
        let mut failed = Vec::new();
        let (per_tenant, touches) = group_after(work);
        for (tenant, settle) in per_tenant {
            if let Err(e) = self.gate.settle(&tenant, &settle).await {
                failed.push(format!(
                    "{} audit entries and {} counts of {tenant} not recorded: {e}",
                    settle.audits.len(),
                    settle.charges.len()
                ));
            }
        }
        for (key_id, now_ms, since_ms) in touches {
            if let Err(e) = self.meta.touch_key(&key_id, now_ms, since_ms).await {
                failed.push(format!("last_used_at not recorded: {e}"));
            }
        }
        failed
    }

    /// The scheduled maintenance run (retention and reconciliation).
    pub async fn sweep(&self, now_ms: u64) -> cleanup::SweepReport {
        cleanup::sweep(self, now_ms).await
    }

    /// The per-minute self-healing pass: stalled jobs sent again or ended.
    pub async fn heal(&self, now_ms: u64) -> cleanup::SweepReport {
        let mut report = cleanup::SweepReport::default();
        cleanup::heal_jobs(self, now_ms, &mut report).await;
        report
    }

    /// The SLO pass of the cron: burn rates, alert changes, notices.
    pub async fn evaluate_slos(&self, now_ms: u64) -> ops::SloReport {
        ops::evaluate_slos(self, now_ms).await
    }

    /// The daily run: a D1 backup to R2, then backups and metrics past
    /// their retention deleted.
    pub async fn daily(&self, now_ms: u64) -> serde_json::Value {
        use crate::ports::OpsStore;
        let backup = ops::make_backup(self, now_ms).await;
        let pruned = ops::prune_backups(self, now_ms).await;
        let minutes = self.config.ops.metrics_retention_days * 1440;
        let metrics = self
            .ops
            .prune_metrics((now_ms / 60_000).saturating_sub(minutes))
            .await;
        let errors: Vec<String> = [
            backup.as_ref().err().map(|e| format!("backup: {e}")),
            pruned
                .as_ref()
                .err()
                .map(|e| format!("pruning backups: {e}")),
            metrics
                .as_ref()
                .err()
                .map(|e| format!("pruning metrics: {e}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        serde_json::json!({
            "backup": backup.ok(),
            "backups_deleted": pruned.ok(),
            "metric_rows_deleted": metrics.ok(),
            "errors": errors,
        })
    }
}

pub use ops::SloReport;

pub use cleanup::SweepReport;

impl<P: Ports> App<P> {
    /// One message of the dead-letter queue (see `admin::take_dead_letter`).
    pub async fn take_dead_letter(
        &self,
        message_id: &str,
        body: &str,
        attempts: u32,
        now_ms: u64,
    ) -> Result<(), String> {
        admin::take_dead_letter(self, message_id, body, attempts, now_ms).await
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
