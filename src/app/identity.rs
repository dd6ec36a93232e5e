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

mod tokens;
use tokens::{json_web_token, seal};

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
    // A refusal is audited in the tenant's shard and region.
    app.enter_for(ctx, key.tenant_shard);
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
