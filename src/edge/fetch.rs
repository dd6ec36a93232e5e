//! The `fetch` event: a workers-rs request into the core's, the gate and
//! routes, and the answer back (bodies streamed both ways where they can).

use super::*;
use crate::app::Ctx;
use crate::http::Method;
use crate::ids::new_id;

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

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    let started = worker::Date::now().as_millis();
    let ctx = Ctx::new(started, new_id("req", started, &CryptoEntropy)).with_trace(trace_of(&req));
    let method = req.inner().method();
    let path = req.path();
    let config = config(&env);
    let obs = match &config {
        Ok(c) => Obs::for_request(ctx.request_id.clone(), ctx.trace.clone(), &c.ops),
        Err(_) => Obs::default(),
    };
    let mut resp = match handle(&mut req, &env, &ctx, config.clone(), &obs).await {
        Ok(resp) => resp,
        Err(cause) => {
            let err = ApiError::Internal(cause);
            log(json!({"level": "error", "request_id": ctx.request_id, "error": err.to_string()}));
            err.to_response(&ctx.request_id)
        }
    };
    // Every response names its request, refusals made before the app too.
    if resp.header("x-request-id").is_none() {
        resp.set_header("x-request-id", &ctx.request_id);
    }
    if let Ok(c) = &config {
        defer_after(&env, &wctx, c, &obs, &ctx);
    }
    for warning in ctx.warnings.borrow().iter() {
        log(json!({"level": "warn", "request_id": ctx.request_id, "msg": warning}));
    }
    if resp.status >= 500 {
        log(json!({"level": "error", "request_id": ctx.request_id, "status": resp.status}));
    }
    let who = ctx.log.borrow().clone();
    let latency = worker::Date::now().as_millis().saturating_sub(started);
    if let Ok(c) = &config {
        let bytes = resp.body.len();
        metrics::record_request(
            &env,
            &wctx,
            c,
            &obs,
            &method,
            &who,
            resp.status,
            latency,
            bytes,
        );
    }
    log_request(&ctx, &obs, (&method, &path), &who, &resp, latency);
    if let Ok(c) = &config {
        if let Some(streamed) = super::streams::stream(&env, c, &obs, &ctx, &resp)? {
            return Ok(streamed);
        }
    }
    to_worker(resp)
}

/// The caller's trace continued (as a child span), or a new one.
fn trace_of(req: &Request) -> crate::trace::TraceContext {
    let incoming = req
        .headers()
        .get("traceparent")
        .ok()
        .flatten()
        .and_then(|h| crate::trace::TraceContext::parse(&h));
    match incoming {
        Some(parent) => {
            let mut span = [0u8; 8];
            CryptoEntropy.fill(&mut span);
            parent.child(span)
        }
        None => {
            let mut random = [0u8; 24];
            CryptoEntropy.fill(&mut random);
            crate::trace::TraceContext::new_root(random)
        }
    }
}

/// What the request left for after its response (audit entries, usage
/// counts, last-use times): nothing the client waits for.
fn defer_after(env: &Env, wctx: &Context, c: &Config, obs: &Obs, ctx: &Ctx) {
    let work = ctx.take_after();
    if work.is_empty() {
        return;
    }
    let (env, c, obs, request_id) = (env.clone(), c.clone(), obs.clone(), ctx.request_id.clone());
    let shard = ctx.log.borrow().shard;
    wctx.wait_until(async move {
        let failed = match app(&env, c, &obs) {
            Ok(app) => {
                // The request's tenant: its gate is in its shard's region.
                if let Some(s) = shard {
                    crate::ports::ShardStore::enter(&app.meta, s);
                }
                app.finish(work).await
            }
            Err(e) => vec![format!("bindings: {e}")],
        };
        for f in failed {
            log(json!({"level": "warn", "request_id": request_id, "msg": f}));
        }
    });
}

/// The request's one log line, with the calls it made.
fn log_request(
    ctx: &Ctx,
    obs: &Obs,
    (method, path): (&str, &str),
    who: &crate::app::RequestLog,
    resp: &http::Response,
    latency: u64,
) {
    let outcome = match resp.status {
        0..=399 => "success",
        400..=499 => "client_error",
        _ => "server_error",
    };
    log(json!({
        "level": "info", "msg": "request", "ts": crate::time::rfc3339(ctx.now_ms),
        "request_id": ctx.request_id,
        "trace_id": ctx.trace.as_ref().map(|t| t.trace_id.clone()),
        "span_id": ctx.trace.as_ref().map(|t| t.span_id.clone()),
        "method": method, "path": path, "route": who.route, "status": resp.status,
        "tenant_id": who.tenant_id, "key_id": who.key_id, "error_code": who.error_code,
        "outcome": outcome,
        "latency_ms": latency,
        "bytes_out": resp.body.len(),
        "calls": obs.close(),
    }));
}

/// Builds the app and runs the request; `Err` only for broken deployments
/// (missing bindings or settings), reported as a generic 500.
async fn handle(
    req: &mut Request,
    env: &Env,
    ctx: &Ctx,
    config: Result<Config, crate::config::ConfigError>,
    obs: &Obs,
) -> Result<http::Response, String> {
    let config = config.map_err(|e| e.to_string())?;
    if config.enable_test_routes && req.path() == "/__test/crypto" {
        return test_routes::forward_to_jobs(req, env).await;
    }
    if config.enable_test_routes && req.path() == "/__test/raw-object" {
        return test_routes::raw_object(req, env).await;
    }
    if config.enable_test_routes && matches!(req.path().as_str(), "/__test/extract" | "/__test/ocr")
    {
        return test_routes::forward_to_jobs(req, env).await;
    }
    let limit = config.max_upload_bytes;
    let part_limit = config.upload_part_bytes;
    let bookmark = req.headers().get(sessions::HEADER).ok().flatten();
    let (dbs, sessions) = match sessions::open(env, bookmark.as_deref()) {
        Ok(s) => s,
        Err(err) => return Ok(err.to_response(&ctx.request_id)),
    };
    let app = app_over(env, config, obs, dbs).map_err(|e| format!("bindings: {e}"))?;
    let core_req = match to_core(req, limit, part_limit).await {
        Ok(r) => r,
        Err(err) => return Ok(err.to_response(&ctx.request_id)),
    };
    let mut resp = app.handle(&core_req, ctx).await;
    if let Some(b) = sessions.bookmark() {
        resp.set_header(sessions::HEADER, &b);
    }
    Ok(resp)
}

/// Converts the request, refusing oversized bodies before reading them.
/// The request line and headers, in the app's terms, and the URL.
fn head_of(req: &Request) -> Result<(http::Request, worker::Url), ApiError> {
    // The raw name: workers-rs reads a method it does not know (QUERY, …)
    // as GET, which would serve it; ours refuses it with 405.
    let method = Method::parse(&req.inner().method());
    let url = req.url().map_err(|e| ApiError::Internal(e.to_string()))?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut core = http::Request::new(method, &target);
    for (name, value) in req.headers().entries() {
        core = core.with_header(&name, &value);
    }
    Ok((core, url))
}

async fn to_core(
    req: &mut Request,
    upload_limit: u64,
    part_limit: u64,
) -> Result<http::Request, ApiError> {
    let (core, url) = head_of(req)?;
    let method = core.method;
    // DELETE may carry a small JSON body too (`DELETE /v1/tenant` asks for
    // a confirmation).
    if !matches!(
        method,
        Method::Post | Method::Put | Method::Patch | Method::Delete
    ) {
        return Ok(core);
    }
    let path = url.path();
    let declared = core
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    let is_form = core
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"));
    // A raw upload larger than one part goes to storage as it arrives.
    if method == Method::Post && path == "/v1/documents" && !is_form {
        if let Some(size) = declared.filter(|n| *n > part_limit) {
            if size > upload_limit {
                return Err(ApiError::PayloadTooLarge {
                    size,
                    limit: upload_limit,
                });
            }
            return Ok(core.with_stream(size, body_source(req)?));
        }
    }
    let cap = body_cap(path, upload_limit, part_limit);
    if let Some(size) = declared.filter(|s| *s > cap) {
        return Err(ApiError::PayloadTooLarge { size, limit: cap });
    }
    // No body at all (`curl -X POST` without data sends no length): the
    // same as an empty one.
    if declared == Some(0) || req.inner().body().is_none() {
        return Ok(core);
    }
    let source = body_source(req)?;
    // Before anyone is authenticated only a small body is read; a larger
    // or unannounced one waits for the app to know its sender, and is then
    // read through the route's limit, never past it.
    if declared.is_none_or(|n| n > PREAUTH_BODY) {
        return Ok(core.with_deferred(cap, source));
    }
    let body = http::read_limited(source.as_ref(), cap.min(PREAUTH_BODY)).await?;
    Ok(core.with_body(body))
}

/// The most a route's body may hold: uploads up to the upload limit (as
/// much as is buffered), a part its part size, anything else a JSON body.
fn body_cap(path: &str, upload_limit: u64, part_limit: u64) -> u64 {
    if matches!(path, "/v1/documents" | "/__test/extract") {
        upload_limit.min(BUFFERED_UPLOAD_MAX) + MULTIPART_SLACK
    } else if path.starts_with("/v1/uploads/") && path.contains("/parts/") {
        part_limit
    } else if path.starts_with("/v1/admin/ocr-models/") {
        crate::app::ocr_models::MAX_MODEL_BYTES
    } else {
        MAX_JSON_BODY
    }
}

/// The request's body as a stream the core reads at its own pace.
fn body_source(req: &mut Request) -> Result<std::rc::Rc<EdgeSource>, ApiError> {
    let stream = req
        .stream()
        .map_err(|e| ApiError::Invalid("unreadable_body", e.to_string()))?;
    Ok(std::rc::Rc::new(EdgeSource {
        stream: std::cell::RefCell::new(Some(stream)),
        left: std::cell::RefCell::new(Vec::new()),
    }))
}
