//! From a request to its handler: the route matched once against the
//! route table, operator routes checked centrally, tenant routes through
//! the gate (authentication, one gate call, idempotency, scope), then the
//! handler; the audit entry is left for after the response.

use super::*;
use crate::auth::{Principal, Scope};
use crate::http::routes::{match_route, spec_of, Auth, Match, RouteId};
use crate::http::Method;

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
            RouteId::OpenApi | RouteId::Console | RouteId::ConsoleScript => {
                let granted = limits::for_client(self, req).await?;
                let mut resp = match id {
                    RouteId::Console => console::page(),
                    RouteId::ConsoleScript => console::script(),
                    _ => system::openapi(req.header("if-none-match")),
                };
                granted.apply(&mut resp);
                Ok(resp)
            }
            RouteId::TestRedeliverJob if self.config.enable_test_routes => {
                jobs::redeliver(self, param).await
            }
            // The operator's routes use the operator key, not tenant keys.
            _ if auth == Auth::Operator => self.operator(id, req, ctx, param).await,
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
    /// The operator's routes (the key already checked).
    async fn operator(
        &self,
        id: RouteId,
        req: &Request,
        ctx: &Ctx,
        param: &str,
    ) -> Result<Response, ApiError> {
        match id {
            RouteId::CreateTenant => tenants::create(self, req, ctx).await,
            RouteId::ListTenants => tenants::list(self).await,
            RouteId::UpdateTenant => tenants::update(self, req, ctx, param).await,
            RouteId::MoveTenant => moves::move_tenant(self, req, ctx, param).await,
            RouteId::Rewrap => admin::rewrap(self, req).await,
            RouteId::PutOcrModel => ocr_models::put(self, req, param).await,
            RouteId::ListOcrModels => ocr_models::list(self).await,
            RouteId::ListDeadLetters => admin::list_dead_letters(self).await,
            RouteId::ReplayDeadLetter => admin::replay_dead_letter(self, param, ctx.now_ms).await,
            RouteId::AdminMetrics => ops::metrics(self, req, ctx.now_ms).await,
            RouteId::AdminSlo => ops::show_slo(self, ctx.now_ms).await,
            RouteId::ListBackups => backups::list_backups(self).await,
            RouteId::CreateBackup => backups::create_backup(self, ctx.now_ms).await,
            RouteId::GetBackup => backups::get_backup(self, param).await,
            _ => Err(ApiError::NotFound(format!("route {}", req.path))),
        }
    }

    async fn gated(
        &self,
        id: RouteId,
        params: &[String],
        req: &Request,
        ctx: &Ctx,
    ) -> Result<Response, ApiError> {
        let caller = identity::authenticate(self, req, ctx).await?;
        // Every tenant query of the request goes to the tenant's shard.
        self.enter_for(ctx, caller.who.shard);
        let scope = required_scope(id);
        let permitted = |who: &Principal| scope.map_or(Ok(()), |s| who.require(s));
        // The key is begun with the rest only for a request that may run
        // and whose body is at hand; a deferred body is read first.
        let begin = match permitted(&caller.who) {
            Ok(()) if req.deferred.is_none() => idempotent::begin_of(req, &caller.who),
            _ => None,
        };
        let class = (spec_of(id).class, !reads(req));
        let admitted = gate::admit(self, &caller.who, class, ctx, begin).await?;
        let who = self.settle(req, ctx, caller, &admitted).await?;
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
        audit_after(id, params, req, ctx, &who, outcome.as_ref());
        let mut resp = outcome?;
        admitted.granted.apply(&mut resp);
        Ok(resp)
    }

    /// The caller once the gate answered: confirmed (see
    /// [`identity::confirm`]), refused while its tenant moves if the
    /// request writes, its shard entered and its names logged. A refusal
    /// releases the Idempotency-Key begun for it.
    async fn settle(
        &self,
        req: &Request,
        ctx: &Ctx,
        caller: identity::Caller,
        admitted: &gate::Admitted,
    ) -> Result<Principal, ApiError> {
        let asked_as = caller.who.clone();
        let confirmed = identity::confirm(self, req, ctx, caller, admitted.epoch)
            .await
            .and_then(|who| frozen(who, req));
        let who = match confirmed {
            Ok(who) => who,
            Err(e) => {
                idempotent::release(self, req, &asked_as, admitted.begun.as_ref()).await;
                return Err(e);
            }
        };
        self.enter_for(ctx, who.shard);
        let mut log = ctx.log.borrow_mut();
        log.tenant_id = Some(who.tenant_id.clone());
        log.key_id = Some(who.key_id.clone());
        Ok(who)
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
            RouteId::ListJobs => jobs::list(self, req, who).await,
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
            RouteId::ListShares => shares::list_shares(self, param, who).await,
            RouteId::PutShare => shares::put_share(self, req, param, ctx, who).await,
            RouteId::DeleteShare => shares::delete_share(self, param, second, who).await,
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

/// Whether the request only reads (the rest may write).
fn reads(req: &Request) -> bool {
    matches!(req.method, Method::Get | Method::Head)
}

/// A tenant moving between shards reads but does not write until the
/// move ends (seconds): its writes are refused with 503 and `Retry-After`.
fn frozen(who: Principal, req: &Request) -> Result<Principal, ApiError> {
    if who.frozen && !reads(req) {
        return Err(ApiError::Unavailable("tenant_moving"));
    }
    Ok(who)
}

/// Leaves the route's audit entry, if it has one, for after the response.
fn audit_after(
    id: RouteId,
    params: &[String],
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
    outcome: Result<&Response, &ApiError>,
) {
    if let Some((action, _)) = spec_of(id).audit {
        let param = params.first().map(String::as_str).unwrap_or("");
        let draft = audit::draft_for(who, req, ctx, action);
        let draft = audit::complete(draft, id, param, req, outcome);
        ctx.defer(After::Audit {
            draft,
            throttle: None,
        });
    }
}

/// The scope a route needs, beyond authentication, as the route table
/// declares it. Per-document rights are checked by the handlers, on top.
pub fn required_scope(id: RouteId) -> Option<Scope> {
    match spec_of(id).auth {
        Auth::Tenant(scope) => scope,
        _ => None,
    }
}
