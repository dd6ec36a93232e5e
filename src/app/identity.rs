//! Who is calling: API keys and identity-provider JWTs resolved to a
//! [`Principal`], the tenant's identity provider (`/v1/tenant/idp`), and
//! `/v1/me`.
//!
//! An API key is looked up in D1 or, when the isolate has it cached, taken
//! from there and confirmed by the tenant's auth epoch, which the request's
//! one gate call returns: a revoked key, a disabled user or a suspended
//! tenant is refused on the very next request either way. Refusals for a
//! known tenant are written to its audit log (after the response).

use super::{audit, After, App, Ctx};
use crate::audit::Draft;
use crate::auth::cache::Cached;
use crate::auth::jwt::{self, IdpConfig, JwtFailure, Peek};
use crate::auth::{self, admit, Credential, Principal, Refusal, Role, User};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::new_id;
use crate::ports::{Directory, Entropy, HttpClient, IdpRecord, KeyStore, Ports, TenantStore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// Refusals per minute, per tenant and client address, that are written
/// to the audit log (more are only logged).
const AUDITED_FAILURES: u32 = 100;

/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL_MS: u64 = 60_000;
/// Largest JWKS document accepted from a `jwks_url`.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A caller as resolved before the gate's answer, with what that answer
/// must confirm.
pub struct Caller {
    pub who: Principal,
    check: Check,
}

enum Check {
    /// Used from the isolate's cache, valid under this epoch.
    Cached { hash: String, epoch: u64 },
    /// Read from the database now; `mark` is where the cache's
    /// observations stood before the read.
    Read {
        hash: String,
        cached: Box<Cached>,
        mark: u64,
    },
    /// Verified in full (a JWT): nothing to confirm.
    Verified,
}

/// Resolves the request's credential to a principal, or refuses it.
pub async fn authenticate<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
) -> Result<Caller, ApiError> {
    if auth::token_in_query(req) {
        return Err(ApiError::Unauthorized);
    }
    let token = auth::bearer_token(req)?;
    if auth::is_api_key(token) {
        api_key(app, token, req, ctx).await
    } else if jwt::looks_like_jwt(token) {
        let who = json_web_token(app, token, req, ctx).await?;
        Ok(Caller {
            who,
            check: Check::Verified,
        })
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Settles the caller once the gate answered with the tenant's epoch (or
/// `None`, unreachable): a cached credential under another epoch, or one
/// that cannot be confirmed, is read again; a fresh read is cached when
/// that is safe (see [`crate::auth::cache`]).
pub async fn confirm<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    caller: Caller,
    epoch: Option<u64>,
) -> Result<Principal, ApiError> {
    let tenant = caller.who.tenant_id.clone();
    if let Some(e) = epoch {
        app.credentials.observe(&tenant, e);
    }
    match (caller.check, epoch) {
        (Check::Cached { epoch: cached, .. }, Some(e)) if cached == e => Ok(caller.who),
        (Check::Cached { hash, .. }, _) => {
            app.credentials.forget(&hash);
            let again = key_from_store(app, &hash, req, ctx).await?;
            Ok(confirm_read(app, again, epoch))
        }
        (check @ Check::Read { .. }, _) => Ok(confirm_read(
            app,
            Caller {
                who: caller.who,
                check,
            },
            epoch,
        )),
        (Check::Verified, _) => Ok(caller.who),
    }
}

fn confirm_read<P: Ports>(app: &App<P>, caller: Caller, epoch: Option<u64>) -> Principal {
    if let (
        Check::Read {
            hash,
            mut cached,
            mark,
        },
        Some(e),
    ) = (caller.check, epoch)
    {
        cached.epoch = e;
        app.credentials.keep(&hash, *cached, mark);
    }
    caller.who
}

/// Leaves the audit entry for a refused credential of a known tenant.
fn refused(
    req: &Request,
    ctx: &Ctx,
    tenant_id: &str,
    actor: String,
    via: Option<String>,
    reason: &str,
) {
    // A stream of bad credentials from one address must not turn into a
    // stream of audit writes: past AUDITED_FAILURES a minute per tenant and
    // address, refusals are only logged.
    let ip = audit::client_ip(req).unwrap_or_else(|| "unknown".into());
    let throttle = crate::gate::Throttle {
        subject: format!("authfail:{ip}"),
        policy: crate::ratelimit::Policy {
            name: "auth_failures".into(),
            limit: AUDITED_FAILURES,
            period_ms: 60_000,
        },
    };
    let draft = Draft {
        tenant_id: tenant_id.to_string(),
        at_ms: ctx.now_ms,
        actor,
        via,
        action: "auth.failed".into(),
        resource: None,
        outcome: "denied".into(),
        ip: audit::client_ip(req),
        request_id: Some(ctx.request_id.clone()),
        detail: Some(json!({ "reason": reason }).to_string()),
    };
    ctx.defer(After::Audit {
        draft,
        throttle: Some(throttle),
    });
}

async fn api_key<P: Ports>(
    app: &App<P>,
    token: &str,
    req: &Request,
    ctx: &Ctx,
) -> Result<Caller, ApiError> {
    let hash = auth::hash_key(&app.config.api_key_pepper, token);
    if let Some(mut c) = app.credentials.get(&hash, ctx.now_ms) {
        if let Ok(who) = admit(&c.key, c.user.as_ref(), ctx.now_ms) {
            touch(app, ctx, &hash, &mut c);
            return Ok(Caller {
                who,
                check: Check::Cached {
                    hash,
                    epoch: c.epoch,
                },
            });
        }
        // Expired since it was cached, say: the stored row decides, and
        // its refusal is audited.
        app.credentials.forget(&hash);
    }
    key_from_store(app, &hash, req, ctx).await
}

/// Reads the key (and its user) from the database and admits it.
async fn key_from_store<P: Ports>(
    app: &App<P>,
    hash: &str,
    req: &Request,
    ctx: &Ctx,
) -> Result<Caller, ApiError> {
    let mark = app.credentials.mark();
    let Some(key) = app.meta.find_key_by_hash(hash).await? else {
        return Err(Refusal::Unknown.to_error());
    };
    let user = match &key.user_id {
        Some(id) => app.directory.get_user(&key.tenant_id, id).await?,
        None => None,
    };
    match admit(&key, user.as_ref(), ctx.now_ms) {
        Ok(who) => {
            let mut cached = Cached {
                key,
                user,
                epoch: 0,
                read_at_ms: ctx.now_ms,
            };
            touch(app, ctx, hash, &mut cached);
            Ok(Caller {
                who,
                check: Check::Read {
                    hash: hash.to_string(),
                    cached: Box::new(cached),
                    mark,
                },
            })
        }
        Err(refusal) => {
            let via = format!("key:{}", key.id);
            refused(
                req,
                ctx,
                &key.tenant_id,
                via.clone(),
                Some(via),
                refusal.as_str(),
            );
            Err(refusal.to_error())
        }
    }
}

/// Leaves a `last_used_at` write for after the response when the key's
/// last recorded use is older than the interval (most requests write
/// nothing).
fn touch<P: Ports>(app: &App<P>, ctx: &Ctx, hash: &str, c: &mut Cached) {
    let since = ctx.now_ms.saturating_sub(TOUCH_INTERVAL_MS);
    if c.key.last_used_at_ms.is_none_or(|t| t < since) {
        c.key.last_used_at_ms = Some(ctx.now_ms);
        app.credentials.touched(hash, ctx.now_ms);
        ctx.defer(After::Touch {
            key_id: c.key.id.clone(),
            now_ms: ctx.now_ms,
            since_ms: since,
        });
    }
}

/// Prefix of a stored, encrypted HS256 secret.
const SEALED: &str = "qenc:";

/// Encrypts the HS256 secret under the master key before it is stored, so
/// the metadata database alone never holds it in clear.
fn seal<P: Ports>(app: &App<P>, mut cfg: IdpConfig) -> Result<IdpConfig, ApiError> {
    if let Some(secret) = cfg.hs256_secret.take() {
        let mut random = [0u8; 51];
        app.entropy.fill(&mut random);
        let sealed = crate::crypto::encrypt(&app.config.master_keys, secret.as_bytes(), random)
            .map_err(|e| ApiError::Internal(format!("sealing the HS256 secret: {e}")))?;
        cfg.hs256_secret = Some(format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(sealed)));
    }
    Ok(cfg)
}

/// Reverses [`seal`]; a secret that cannot be opened is dropped (HS256
/// tokens are then refused, and the failure is logged).
fn unseal<P: Ports>(app: &App<P>, mut cfg: IdpConfig, ctx: &Ctx) -> IdpConfig {
    let opened = cfg
        .hs256_secret
        .as_deref()
        .and_then(|s| s.strip_prefix(SEALED))
        .map(|b64| {
            URL_SAFE_NO_PAD
                .decode(b64)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    crate::crypto::decrypt(&app.config.master_keys, &bytes)
                        .map_err(|e| e.to_string())
                })
                .and_then(|plain| String::from_utf8(plain).map_err(|e| e.to_string()))
        });
    match opened {
        Some(Ok(secret)) => cfg.hs256_secret = Some(secret),
        Some(Err(e)) => {
            ctx.warn(format!(
                "HS256 secret of an identity provider cannot be opened: {e}"
            ));
            cfg.hs256_secret = None;
        }
        None => {}
    }
    cfg
}

/// The one identity provider an unverified token can belong to: by its
/// issuer, then by the required claim when several tenants share it.
async fn provider_for<P: Ports>(
    app: &App<P>,
    peeked: &Peek,
) -> Result<Option<(IdpRecord, IdpConfig)>, ApiError> {
    let Some(issuer) = peeked.issuer() else {
        return Ok(None);
    };
    let records = app.directory.idps_by_issuer(issuer).await?;
    let mut fitting: Vec<(IdpRecord, IdpConfig)> = records
        .into_iter()
        .filter_map(|r| {
            let cfg: IdpConfig = serde_json::from_str(&r.config).ok()?;
            let claim_ok = cfg.required_claim.as_ref().is_none_or(|rc| {
                peeked.claims.get(&rc.name).and_then(Value::as_str) == Some(rc.value.as_str())
            });
            (cfg.issuer == issuer && claim_ok).then_some((r, cfg))
        })
        .collect();
    Ok(if fitting.len() == 1 {
        fitting.pop()
    } else {
        None
    })
}

/// Fetches the provider's JWKS and records the attempt; the keys, or
/// `None` when the fetch failed.
async fn fetch_jwks<P: Ports>(
    app: &App<P>,
    tenant_id: &str,
    url: &str,
    ctx: &Ctx,
) -> Option<Vec<Value>> {
    let fetched = match app.http.get(url).await {
        Ok((200, body)) if body.len() <= MAX_JWKS_BYTES => serde_json::from_str::<Value>(&body)
            .ok()
            .filter(|v| jwt::jwks_keys(v).is_some()),
        Ok((status, _)) => {
            ctx.warn(format!("JWKS fetch from {url}: HTTP {status} or too large"));
            None
        }
        Err(e) => {
            ctx.warn(format!("JWKS fetch from {url} failed: {e}"));
            None
        }
    };
    let text = fetched.as_ref().map(Value::to_string);
    if let Err(e) = app
        .directory
        .save_jwks(tenant_id, text.as_deref(), ctx.now_ms)
        .await
    {
        ctx.warn(format!("JWKS not cached: {e}"));
    }
    fetched.and_then(|v| jwt::jwks_keys(&v).cloned())
}

fn stored_keys(record: &IdpRecord) -> Vec<Value> {
    record
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| jwt::jwks_keys(&v).cloned())
        .unwrap_or_default()
}

/// Verifies with the provider's keys: inline, or from the cached JWKS,
/// fetched when stale and refetched once on an unknown `kid` (at most once
/// per `jwks_refetch_seconds`, so unknown kids cannot make us hammer the
/// provider).
async fn verify_with_keys<P: Ports>(
    app: &App<P>,
    token: &str,
    peeked: &Peek,
    record: &IdpRecord,
    cfg: &IdpConfig,
    ctx: &Ctx,
) -> Result<jwt::Verified, JwtFailure> {
    let now = ctx.now_ms;
    let refetch_ms = u64::from(cfg.jwks_refetch_seconds) * 1000;
    let Some(url) = &cfg.jwks_url else {
        let keys = cfg
            .jwks
            .as_ref()
            .and_then(jwt::jwks_keys)
            .cloned()
            .unwrap_or_default();
        return jwt::verify(token, peeked, cfg, &keys, now);
    };
    let last = record.jwks_fetched_at_ms;
    let fresh = last.is_some_and(|t| now < t + u64::from(cfg.jwks_ttl_seconds) * 1000);
    let mut fetched_now = false;
    let mut keys = stored_keys(record);
    if !fresh || keys.is_empty() && last.is_none_or(|t| now >= t + refetch_ms) {
        if let Some(k) = fetch_jwks(app, &record.tenant_id, url, ctx).await {
            keys = k;
        }
        fetched_now = true;
    }
    match jwt::verify(token, peeked, cfg, &keys, now) {
        Err(JwtFailure::UnknownKey)
            if !fetched_now && last.is_none_or(|t| now >= t + refetch_ms) =>
        {
            let keys = fetch_jwks(app, &record.tenant_id, url, ctx)
                .await
                .unwrap_or(keys);
            jwt::verify(token, peeked, cfg, &keys, now)
        }
        other => other,
    }
}

async fn json_web_token<P: Ports>(
    app: &App<P>,
    token: &str,
    req: &Request,
    ctx: &Ctx,
) -> Result<Principal, ApiError> {
    let peeked = jwt::peek(token).map_err(|_| ApiError::Unauthorized)?;
    let Some((record, cfg)) = provider_for(app, &peeked).await? else {
        return Err(ApiError::Unauthorized);
    };
    let cfg = unseal(app, cfg, ctx);
    let tenant_id = record.tenant_id.clone();
    let subject_hint = peeked
        .claims
        .get(&cfg.claims.subject)
        .and_then(Value::as_str)
        .map(|s| s.chars().take(128).collect::<String>());
    let fail = |reason: &'static str| {
        let actor = subject_hint
            .as_ref()
            .map_or("anonymous".to_string(), |s| format!("subject:{s}"));
        refused(req, ctx, &tenant_id, actor, Some("jwt".into()), reason)
    };
    let verified = match verify_with_keys(app, token, &peeked, &record, &cfg, ctx).await {
        Ok(v) => v,
        Err(f) => {
            fail(f.as_str());
            return Err(ApiError::Unauthorized);
        }
    };
    let Some(tenant) = app.meta.get_tenant(&tenant_id).await? else {
        return Err(ApiError::Unauthorized);
    };
    if tenant.status != "active" {
        fail("tenant_suspended");
        return Err(ApiError::TenantSuspended);
    }
    let user = signed_in_user(app, &tenant_id, &verified, ctx).await?;
    if !user.is_active() {
        fail("user_disabled");
        return Err(ApiError::Unauthorized);
    }
    // What the token claims, within what the user holds.
    let role = verified.role.min(user.role);
    let scopes = verified
        .scopes
        .into_iter()
        .filter(|s| role.scopes().contains(s))
        .collect();
    Ok(Principal {
        tenant_id,
        key_id: format!("jwt:{}", user.id),
        user_id: Some(user.id),
        role,
        scopes,
        credential: Credential::Jwt,
        rate_limits: Vec::new(),
        plan: tenant.plan,
        retention_days: tenant.retention_days,
    })
}

/// The user a verified token names, created on first sign-in; its role
/// follows the token's.
async fn signed_in_user<P: Ports>(
    app: &App<P>,
    tenant_id: &str,
    v: &jwt::Verified,
    ctx: &Ctx,
) -> Result<User, ApiError> {
    if let Some(user) = app
        .directory
        .find_user_by_external_id(tenant_id, &v.subject)
        .await?
    {
        // The stored role stands: a token can lower what a sign-in may do,
        // never raise or rewrite it.
        return Ok(user);
    }
    let mut user = User {
        id: new_id("usr", ctx.now_ms, &app.entropy),
        tenant_id: tenant_id.to_string(),
        email: v
            .email
            .clone()
            .filter(|e| e.len() <= 254 && e.contains('@')),
        name: None,
        external_id: Some(v.subject.clone()),
        // Owners are made by owners, never by a first sign-in.
        role: v.role.min(Role::Admin),
        status: "active".into(),
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
    };
    if app.directory.insert_user(&user).await.is_ok() {
        return Ok(user);
    }
    // A concurrent first sign-in created it: use that one.
    if let Some(existing) = app
        .directory
        .find_user_by_external_id(tenant_id, &v.subject)
        .await?
    {
        return Ok(existing);
    }
    // Another user has the email. A token's email is never used to take
    // over an existing user (the provider may not have verified it): this
    // one is created without it. To link a pre-created user, give it the
    // provider's subject as `external_id`.
    user.email = None;
    app.directory.insert_user(&user).await?;
    Ok(user)
}

/// `GET /v1/me`: the caller as Quire sees it.
pub fn me(who: &Principal) -> Response {
    let scopes: Vec<&str> = who.scopes.iter().map(|s| s.as_str()).collect();
    Response::json(
        200,
        &json!({
            "tenant_id": who.tenant_id,
            "user_id": who.user_id,
            "key_id": match &who.credential { Credential::ApiKey(k) => Some(k), Credential::Jwt => None },
            "credential": match who.credential { Credential::ApiKey(_) => "api_key", Credential::Jwt => "jwt" },
            "role": who.role.as_str(),
            "scopes": scopes,
        }),
    )
}

pub async fn get_idp<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    let record = app
        .directory
        .get_idp(&who.tenant_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("identity provider".into()))?;
    let cfg: IdpConfig = serde_json::from_str(&record.config)
        .map_err(|e| ApiError::Internal(format!("stored identity provider unreadable: {e}")))?;
    let mut view = cfg.view();
    view["jwks_fetched_at"] = json!(record.jwks_fetched_at_ms.map(crate::time::rfc3339));
    Ok(Response::json(200, &view))
}

/// Who signs a tenant's users in is the owners' decision: an identity
/// provider can mint tokens for any role it likes.
fn owner_only(who: &Principal) -> Result<(), ApiError> {
    if who.role == Role::Owner {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an owner may set or remove the identity provider".into(),
        ))
    }
}

/// An issuer another tenant signs in with may be shared only when every
/// tenant on it tells its tokens apart by the same claim with its own
/// value (an organisation id, say); otherwise a second registration would
/// make the first tenant's tokens ambiguous and lock it out.
async fn issuer_is_free<P: Ports>(
    app: &App<P>,
    who: &Principal,
    cfg: &IdpConfig,
) -> Result<(), ApiError> {
    for other in app.directory.idps_by_issuer(&cfg.issuer).await? {
        if other.tenant_id == who.tenant_id {
            continue;
        }
        let theirs: Option<IdpConfig> = serde_json::from_str(&other.config).ok();
        let theirs = theirs.and_then(|c| c.required_claim);
        let apart = match (&theirs, &cfg.required_claim) {
            (Some(a), Some(b)) => a.name == b.name && a.value != b.value,
            _ => false,
        };
        if !apart {
            return Err(ApiError::Conflict(
                "issuer_taken",
                "another tenant signs in with this issuer: give a required_claim with the \
                 same claim name as theirs and a value of your own"
                    .into(),
            ));
        }
    }
    Ok(())
}

pub async fn put_idp<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    owner_only(who)?;
    let cfg = IdpConfig::parse(&req.body, app.config.local_urls_allowed)
        .map_err(|why| ApiError::Invalid("invalid_identity_provider", why))?;
    issuer_is_free(app, who, &cfg).await?;
    let view = cfg.view();
    let issuer = cfg.issuer.clone();
    let stored =
        serde_json::to_string(&seal(app, cfg)?).map_err(|e| ApiError::Internal(e.to_string()))?;
    app.directory
        .put_idp(&who.tenant_id, &issuer, &stored, ctx.now_ms)
        .await?;
    Ok(Response::json(200, &view))
}

pub async fn delete_idp<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    owner_only(who)?;
    if app.directory.delete_idp(&who.tenant_id).await? {
        Ok(Response::new(204))
    } else {
        Err(ApiError::NotFound("identity provider".into()))
    }
}

/// Whether `who` may hand out `role` (nobody grants more than they hold;
/// only owners make owners).
pub fn may_grant(who: &Principal, role: Role) -> Result<(), ApiError> {
    if role <= who.role {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} cannot grant the {} role",
            who.role.as_str(),
            role.as_str()
        )))
    }
}
