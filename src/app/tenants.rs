//! `/v1/tenants`: provisioning by the platform operator, who authenticates
//! with `OPERATOR_API_KEY` (not a tenant key). Creating a tenant returns its
//! first (owner) key once; suspending one refuses all its keys at once.

use super::{created, App, Ctx};
use crate::auth::{bearer_token, hash_key, make_secret, ApiKey, Role};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::new_id;
use crate::ports::{Entropy, Ports, ShardStore, TenantStore};
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
    let body = CreateTenant::parse(&req.body)?;
    let shard = placement(app, body.data_region.as_deref()).await?;
    let tenant = Tenant {
        id: new_id("ten", ctx.now_ms, &app.entropy),
        name: body.name.trim().to_string(),
        plan: body.plan,
        status: "active".into(),
        created_at_ms: ctx.now_ms,
        llm_tiers: None,
        retention_days: None,
        shard,
        data_region: body.data_region,
        moving_since_ms: None,
    };
    let mut random = [0u8; 20];
    app.entropy.fill(&mut random);
    let (secret, prefix) = make_secret(app.config.key_environment(), random);
    let owner = ApiKey {
        id: new_id("key", ctx.now_ms, &app.entropy),
        tenant_id: tenant.id.clone(),
        user_id: None,
        name: "owner".into(),
        prefix: prefix.clone(),
        hash: hash_key(&app.config.api_key_pepper, &secret),
        role: Role::Owner,
        scopes: None,
        created_at_ms: ctx.now_ms,
        expires_at_ms: None,
        last_used_at_ms: None,
        revoked_at_ms: None,
        rotated_to: None,
        rate_limits: Vec::new(),
        plan: tenant.plan.clone(),
        tenant_active: true,
        tenant_retention_days: None,
        tenant_shard: tenant.shard,
        tenant_moving: false,
    };
    app.meta.insert_tenant(&tenant, &owner).await?;
    // The entry is written by the tenant's gate, in its shard's region.
    app.enter_for(ctx, tenant.shard);
    operator_audit(
        req,
        ctx,
        &tenant.id,
        "tenant.created",
        json!({"plan": tenant.plan}),
    );
    let body = json!({
        "tenant": tenant,
        "owner_key": { "id": owner.id, "prefix": prefix, "role": "owner", "secret": secret },
    });
    Ok(created(&format!("/v1/tenants/{}", tenant.id), &body)
        .with_header("cache-control", "no-store"))
}

/// The shard a new tenant of `region` goes to: the emptiest shard of that
/// region (of no region when it names none).
async fn placement<P: Ports>(app: &App<P>, region: Option<&str>) -> Result<u32, ApiError> {
    let regions = &app.config.shard_regions;
    if let Some(r) = region {
        if !regions.has(r) {
            return Err(ApiError::Invalid(
                "region_unavailable",
                format!("no database shard of this deployment is in region '{r}' (SHARD_REGIONS)"),
            ));
        }
    }
    let loads = app.meta.shard_loads().await?;
    crate::tenants::shards::place(&loads, |s| regions.of(s) == region).ok_or_else(|| {
        ApiError::Invalid(
            "region_unavailable",
            "every shard of this deployment is in a data region: name one as data_region".into(),
        )
    })
}

pub async fn list<P: Ports>(app: &App<P>) -> Result<Response, ApiError> {
    let tenants = app.meta.list_tenants().await?;
    Ok(Response::json(200, &json!({ "data": tenants })))
}

/// Writes an operator action into the tenant's own audit log.
pub(super) fn operator_audit(
    req: &Request,
    ctx: &Ctx,
    tenant_id: &str,
    action: &str,
    detail: serde_json::Value,
) {
    let draft = crate::audit::Draft {
        tenant_id: tenant_id.to_string(),
        at_ms: ctx.now_ms,
        actor: "operator".into(),
        via: Some("operator_key".into()),
        action: action.into(),
        resource: Some(format!("tenant:{tenant_id}")),
        outcome: "success".into(),
        ip: super::audit::client_ip(req),
        request_id: Some(ctx.request_id.clone()),
        detail: Some(detail.to_string()),
    };
    ctx.defer(super::After::Audit {
        draft,
        throttle: None,
    });
}

pub async fn update<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    id: &str,
) -> Result<Response, ApiError> {
    let body = UpdateTenant::parse(&req.body)?;
    if let Some(spec) = body.llm_tiers.as_deref().filter(|s| !s.is_empty()) {
        app.config
            .llm
            .with_tiers(spec)
            .map_err(|why| ApiError::Invalid("invalid_llm_tiers", why))?;
    }
    let tenant = app
        .meta
        .update_tenant(id, &body)
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    // The tenant's gate is in its shard's region (its jurisdiction).
    app.enter_for(ctx, tenant.shard);
    // Status and plan decide what every key of the tenant may do.
    super::gate::bump(app, &tenant.id, ctx).await;
    let detail = json!({
        "plan": body.plan, "status": body.status,
        "llm_tiers": body.llm_tiers, "retention_days": body.retention_days,
    });
    operator_audit(req, ctx, &tenant.id, "tenant.updated", detail);
    Ok(Response::json(200, &tenant))
}
