//! `/v1/keys`: API keys of the caller's tenant (admin only). The secret is
//! returned once, at creation; only its HMAC is stored.

use super::{created, App, Ctx};
use crate::auth::{hash_key, make_secret, ApiKey, Principal, Role};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::{looks_like_id, new_id};
use crate::ports::{Entropy, MetaStore, Ports, WebhookStore};
use crate::time::rfc3339;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyRequest {
    name: String,
    #[serde(default = "default_role")]
    role: String,
    /// Per-class overrides such as `{"read": "100/60"}` (limit/seconds).
    #[serde(default)]
    rate_limits: std::collections::BTreeMap<String, String>,
}

fn default_role() -> String {
    "member".into()
}

fn key_view(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "role": k.role.as_str(),
        "created_at": rfc3339(k.created_at_ms),
        "revoked_at": k.revoked_at_ms.map(rfc3339),
        "rate_limits": k.rate_limits.iter()
            .map(|p| (p.name.clone(), format!("{}/{}", p.limit, p.period_ms / 1000)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    })
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let body: CreateKeyRequest = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid key request: {e}")))?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::Invalid(
            "invalid_name",
            "name must be 1 to 100 characters".into(),
        ));
    }
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::Invalid("invalid_role", "role must be 'admin' or 'member'".into())
    })?;
    let spec: Vec<String> = body
        .rate_limits
        .iter()
        .map(|(class, rate)| format!("{class}={rate}"))
        .collect();
    let rate_limits = crate::ratelimit::parse_policies(&spec.join(","))
        .map_err(|why| ApiError::Invalid("invalid_rate_limits", why))?;
    if let Some(p) = rate_limits
        .iter()
        .find(|p| !["read", "upload", "jobs"].contains(&p.name.as_str()))
    {
        return Err(ApiError::Invalid(
            "invalid_rate_limits",
            format!("unknown route class '{}': use read, upload or jobs", p.name),
        ));
    }
    let mut random = [0u8; 20];
    app.entropy.fill(&mut random);
    let (secret, prefix) = make_secret(app.config.key_environment(), random);
    let key = ApiKey {
        id: new_id("key", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        name: name.to_string(),
        prefix,
        hash: hash_key(&app.config.api_key_pepper, &secret),
        role,
        created_at_ms: ctx.now_ms,
        revoked_at_ms: None,
        rate_limits,
        plan: who.plan.clone(),
        tenant_active: true,
    };
    app.meta.insert_key(&key).await?;
    let mut body = key_view(&key);
    body["secret"] = Value::String(secret);
    Ok(created(&format!("/v1/keys/{}", key.id), &body).with_header("cache-control", "no-store"))
}

/// The tenant's webhook signing secret (admin), created on first request.
pub async fn webhook_secret<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    who.require_admin()?;
    let mut random = [0u8; 24];
    app.entropy.fill(&mut random);
    let secret = app
        .webhooks
        .tenant_secret_or_insert(&who.tenant_id, &crate::webhooks::new_secret(random))
        .await?;
    Ok(Response::json(200, &json!({ "secret": secret })).with_header("cache-control", "no-store"))
}

pub async fn list<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    who.require_admin()?;
    let keys = app.meta.list_keys(&who.tenant_id).await?;
    let data: Vec<Value> = keys.iter().map(key_view).collect();
    Ok(Response::json(200, &json!({ "data": data })))
}

pub async fn revoke<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    if !looks_like_id("key", id) || !app.meta.revoke_key(&who.tenant_id, id, ctx.now_ms).await? {
        return Err(ApiError::NotFound("key".into()));
    }
    Ok(Response::new(204))
}
