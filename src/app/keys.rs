//! `/v1/keys`: API keys of the caller's tenant (admin only). The secret is
//! returned once, at creation; only its HMAC is stored.

use super::identity::may_grant;
use super::{created, App, Ctx};
use crate::auth::{hash_key, make_secret, scopes_string, ApiKey, Principal, Role};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::{looks_like_id, new_id};
use crate::ports::{Entropy, KeyStore, Ports, WebhookStore};
use crate::time::{parse_rfc3339, rfc3339};
use serde::Deserialize;

mod grant;
use grant::{rate_limits_of, role_of, scopes_of, user_of, ScopeList};
use serde_json::{json, Value};

/// How long a rotated key keeps working unless the request says otherwise.
pub const DEFAULT_GRACE_S: u64 = 24 * 3600;
/// The longest grace period a rotation may ask for.
pub const MAX_GRACE_S: u64 = 7 * 24 * 3600;
/// The longest lifetime a key may be given (`expires_in`), ten years.
const MAX_LIFETIME_S: u64 = 10 * 365 * 24 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyRequest {
    name: String,
    /// Defaults to the user's role for a user key, else `member`.
    #[serde(default, deserialize_with = "crate::strict::some")]
    role: Option<String>,
    /// A JSON array, or one space-separated string; defaults to all of
    /// the role's scopes.
    #[serde(default, deserialize_with = "crate::strict::some")]
    scopes: Option<ScopeList>,
    /// The user the key acts for; none makes a service key.
    #[serde(default, deserialize_with = "crate::strict::some")]
    user_id: Option<String>,
    /// Lifetime in seconds, or an absolute `expires_at` (RFC 3339).
    #[serde(default, deserialize_with = "crate::strict::some")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    expires_at: Option<String>,
    /// Per-class overrides such as `{"read": "100/60"}` (limit/seconds).
    #[serde(default)]
    rate_limits: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    /// How long the old secret keeps working, in seconds (0 = at once).
    /// Present means a whole number: `null`, strings and fractions are
    /// refused rather than read as "the default".
    #[serde(default, deserialize_with = "crate::strict::some")]
    grace_seconds: Option<u64>,
}

pub(super) fn key_view(k: &ApiKey, now_ms: u64) -> Value {
    let status = if k.revoked_at_ms.is_some() {
        "revoked"
    } else if !k.is_live(now_ms) {
        "expired"
    } else {
        "active"
    };
    json!({
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "role": k.role.as_str(),
        "scopes": scopes_string(&k.effective_scopes()),
        "user_id": k.user_id,
        "status": status,
        "created_at": rfc3339(k.created_at_ms),
        "expires_at": k.expires_at_ms.map(rfc3339),
        "last_used_at": k.last_used_at_ms.map(rfc3339),
        "revoked_at": k.revoked_at_ms.map(rfc3339),
        "rotated_to": k.rotated_to,
        "rate_limits": k.rate_limits.iter()
            .map(|p| (p.name.clone(), format!("{}/{}", p.limit, p.period_ms / 1000)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    })
}

fn invalid(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::Invalid(code, msg.into())
}

fn expiry_of(body: &CreateKeyRequest, now_ms: u64) -> Result<Option<u64>, ApiError> {
    match (body.expires_in, &body.expires_at) {
        (Some(_), Some(_)) => Err(invalid(
            "invalid_expiry",
            "give expires_in or expires_at, not both",
        )),
        (Some(s), None) if (60..=MAX_LIFETIME_S).contains(&s) => Ok(Some(now_ms + s * 1000)),
        (Some(_), None) => Err(invalid(
            "invalid_expiry",
            format!("expires_in must be from 60 to {MAX_LIFETIME_S} seconds"),
        )),
        (None, Some(at)) => match parse_rfc3339(at) {
            Some(t) if t > now_ms + 60_000 && t <= now_ms + MAX_LIFETIME_S * 1000 => Ok(Some(t)),
            _ => Err(invalid(
                "invalid_expiry",
                "expires_at must be an RFC 3339 time at least a minute ahead and within ten years",
            )),
        },
        (None, None) => Ok(None),
    }
}

fn new_secret<P: Ports>(app: &App<P>) -> (String, String, String) {
    let mut random = [0u8; 20];
    app.entropy.fill(&mut random);
    let (secret, prefix) = make_secret(app.config.key_environment(), random);
    let hash = hash_key(&app.config.api_key_pepper, &secret);
    (secret, prefix, hash)
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: CreateKeyRequest = crate::strict::object(&req.body)
        .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid key request: {e}")))?;
    let name = body.name.trim();
    if name.is_empty() || body.name.chars().count() > 100 || name.contains(char::is_control) {
        return Err(invalid(
            "invalid_name",
            "name must be 1 to 100 printable characters",
        ));
    }
    let user = user_of(app, who, body.user_id.as_deref()).await?;
    let role = role_of(body.role.as_deref(), user.as_ref(), who)?;
    let scopes = scopes_of(body.scopes.as_ref(), role, who)?;
    let expires_at_ms = expiry_of(&body, ctx.now_ms)?;
    let rate_limits = rate_limits_of(&body.rate_limits)?;
    let (secret, prefix, hash) = new_secret(app);
    let key = ApiKey {
        id: new_id("key", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        user_id: user.map(|u| u.id),
        name: name.to_string(),
        prefix,
        hash,
        role,
        scopes,
        created_at_ms: ctx.now_ms,
        expires_at_ms,
        last_used_at_ms: None,
        revoked_at_ms: None,
        rotated_to: None,
        rate_limits,
        plan: who.plan.clone(),
        tenant_active: true,
        tenant_retention_days: None,
        tenant_shard: who.shard,
        tenant_moving: false,
    };
    app.meta.insert_key(&key).await?;
    let mut body = key_view(&key, ctx.now_ms);
    body["secret"] = Value::String(secret);
    Ok(created(&format!("/v1/keys/{}", key.id), &body).with_header("cache-control", "no-store"))
}

async fn find<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<ApiKey, ApiError> {
    if !looks_like_id("key", id) {
        return Err(ApiError::NotFound("key".into()));
    }
    app.meta
        .get_key(&who.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("key".into()))
}

pub async fn get<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let key = find(app, id, who).await?;
    Ok(Response::json(200, &key_view(&key, ctx.now_ms)))
}

/// The tenant's webhook signing secret (admin), created on first request.
pub async fn webhook_secret<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    let mut random = [0u8; 24];
    app.entropy.fill(&mut random);
    let secret = app
        .webhooks
        .tenant_secret_or_insert(&who.tenant_id, &crate::webhooks::new_secret(random))
        .await?;
    Ok(Response::json(200, &json!({ "secret": secret })).with_header("cache-control", "no-store"))
}

pub async fn list<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let keys = app.meta.list_keys(&who.tenant_id).await?;
    let data: Vec<Value> = keys.iter().map(|k| key_view(k, ctx.now_ms)).collect();
    Ok(Response::json(200, &json!({ "data": data })))
}

/// Issues a new secret with the same settings and lets the old one work
/// for a grace period (default a day, at most a week), so clients can
/// switch without downtime.
pub async fn rotate<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: RotateRequest = if req.body.is_empty() {
        RotateRequest::default()
    } else {
        crate::strict::object(&req.body)
            .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid rotation: {e}")))?
    };
    let grace = body.grace_seconds.unwrap_or(DEFAULT_GRACE_S);
    if grace > MAX_GRACE_S {
        return Err(invalid(
            "invalid_grace",
            format!("grace_seconds must be at most {MAX_GRACE_S}"),
        ));
    }
    let old = find(app, id, who).await?;
    may_manage(who, &old)?;
    if !old.is_live(ctx.now_ms) || old.rotated_to.is_some() {
        return Err(ApiError::Conflict(
            "key_not_rotatable",
            "only a live key that was not rotated before can be rotated".into(),
        ));
    }
    let (secret, prefix, hash) = new_secret(app);
    let new = ApiKey {
        id: new_id("key", ctx.now_ms, &app.entropy),
        prefix,
        hash,
        created_at_ms: ctx.now_ms,
        last_used_at_ms: None,
        revoked_at_ms: None,
        rotated_to: None,
        ..old.clone()
    };
    let old_expires = ctx.now_ms + grace * 1000;
    if !app
        .meta
        .rotate_key(&who.tenant_id, &old.id, &new, old_expires)
        .await?
    {
        return Err(ApiError::Conflict(
            "key_not_rotatable",
            "the key was rotated or revoked meanwhile".into(),
        ));
    }
    super::gate::bump(app, &who.tenant_id, ctx).await;
    let mut body = key_view(&new, ctx.now_ms);
    body["secret"] = Value::String(secret);
    body["previous"] = json!({
        "id": old.id,
        "expires_at": rfc3339(old.expires_at_ms.map_or(old_expires, |e| e.min(old_expires))),
    });
    Ok(created(&format!("/v1/keys/{}", new.id), &body).with_header("cache-control", "no-store"))
}

/// Whether `who` may rotate or revoke `key`: its role and every scope it
/// carries must be within the caller's (a rotation hands over a secret
/// with the key's rights), and another user's key is an owner's business.
fn may_manage(who: &Principal, key: &ApiKey) -> Result<(), ApiError> {
    may_grant(who, key.role)?;
    if let Some(s) = key
        .effective_scopes()
        .into_iter()
        .find(|s| !who.scopes.contains(s))
    {
        return Err(ApiError::Forbidden(format!(
            "the key carries '{}', which you do not hold",
            s.as_str()
        )));
    }
    let foreign_user = key.user_id.is_some() && key.user_id != who.user_id;
    if foreign_user && who.role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner may manage another user's key".into(),
        ));
    }
    Ok(())
}

pub async fn revoke<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let key = find(app, id, who).await?;
    may_manage(who, &key)?;
    if !app.meta.revoke_key(&who.tenant_id, id, ctx.now_ms).await? {
        return Err(ApiError::NotFound("key".into()));
    }
    super::gate::bump(app, &who.tenant_id, ctx).await;
    Ok(Response::new(204))
}
