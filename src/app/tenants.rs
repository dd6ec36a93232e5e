//! `/v1/tenants`: provisioning by the platform operator, who authenticates
//! with `OPERATOR_API_KEY` (not a tenant key). Creating a tenant returns its
//! first (admin) key once; suspending one refuses all its keys at once.

use super::{created, App, Ctx};
use crate::auth::{bearer_token, hash_key, make_secret, ApiKey, Role};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::new_id;
use crate::ports::{Entropy, MetaStore, Ports};
use crate::tenants::{is_operator, CreateTenant, Tenant, UpdateTenant};
use serde_json::json;

/// Refuses anyone but the operator (401 like any bad credential).
pub fn require_operator<P: Ports>(app: &App<P>, req: &Request) -> Result<(), ApiError> {
    let token = bearer_token(req)?;
    let key = app.config.operator_api_key.as_deref();
    if is_operator(token, key, &app.config.api_key_pepper) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let body = CreateTenant::parse(&req.body)?;
    let tenant = Tenant {
        id: new_id("ten", ctx.now_ms, &app.entropy),
        name: body.name.trim().to_string(),
        plan: body.plan,
        status: "active".into(),
        created_at_ms: ctx.now_ms,
    };
    let mut random = [0u8; 20];
    app.entropy.fill(&mut random);
    let (secret, prefix) = make_secret(app.config.key_environment(), random);
    let owner = ApiKey {
        id: new_id("key", ctx.now_ms, &app.entropy),
        tenant_id: tenant.id.clone(),
        name: "owner".into(),
        prefix: prefix.clone(),
        hash: hash_key(&app.config.api_key_pepper, &secret),
        role: Role::Admin,
        created_at_ms: ctx.now_ms,
        revoked_at_ms: None,
        rate_limits: Vec::new(),
        plan: tenant.plan.clone(),
        tenant_active: true,
    };
    app.meta.insert_tenant(&tenant, &owner).await?;
    let body = json!({
        "tenant": tenant,
        "owner_key": { "id": owner.id, "prefix": prefix, "role": "admin", "secret": secret },
    });
    Ok(created(&format!("/v1/tenants/{}", tenant.id), &body)
        .with_header("cache-control", "no-store"))
}

pub async fn list<P: Ports>(app: &App<P>, req: &Request) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let tenants = app.meta.list_tenants().await?;
    Ok(Response::json(200, &json!({ "data": tenants })))
}

pub async fn update<P: Ports>(app: &App<P>, req: &Request, id: &str) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let body = UpdateTenant::parse(&req.body)?;
    let tenant = app
        .meta
        .update_tenant(id, body.plan.as_deref(), body.status.as_deref())
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    Ok(Response::json(200, &tenant))
}
