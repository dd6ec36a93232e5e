//! Privacy: `GET /v1/export`, a machine-readable archive of everything the
//! tenant's metadata holds and an index of its documents; `DELETE
//! /v1/tenant`, which suspends the tenant at once and has the scheduled
//! sweep erase all its objects and rows, leaving only a tombstone.

use super::{App, Ctx};
use crate::auth::{Principal, Role};
use crate::documents::Document;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{Directory, DocumentStore, JobStore, KeyStore, Ports, TenantStore};
use crate::time::rfc3339;
use serde_json::{json, Value};

const PAGE: u32 = 100;

pub async fn export<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let t = &who.tenant_id;
    let tenant = app
        .meta
        .get_tenant(t)
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    let mut documents: Vec<Document> = Vec::new();
    loop {
        let before = documents.last().map(|d| d.id.clone());
        let page = app
            .meta
            .list_documents(t, before.as_deref(), PAGE, None)
            .await?;
        let done = page.len() < PAGE as usize;
        documents.extend(page);
        if done {
            break;
        }
    }
    let users = app.directory.list_users(t).await?;
    let keys = app.meta.list_keys(t).await?;
    let jobs = app.meta.list_jobs(t).await?;
    let shares = app.meta.list_all_shares(t).await?;
    let idp = match app.directory.get_idp(t).await? {
        Some(r) => serde_json::from_str::<crate::auth::jwt::IdpConfig>(&r.config)
            .map(|c| c.view())
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let body = json!({
        "format": "quire-export-1",
        "generated_at": rfc3339(ctx.now_ms),
        "tenant": {
            "id": tenant.id, "name": tenant.name, "plan": tenant.plan,
            "status": tenant.status, "created_at": rfc3339(tenant.created_at_ms),
        },
        "users": users,
        "api_keys": keys.iter().map(|k| super::keys::key_view(k, ctx.now_ms)).collect::<Vec<_>>(),
        "identity_provider": idp,
        "documents": documents.iter().map(Document::view).collect::<Vec<_>>(),
        "shares": shares.iter().map(|s| {
            let mut v = super::shares::share_view(s);
            v["document_id"] = json!(s.document_id);
            v
        }).collect::<Vec<_>>(),
        "jobs": jobs.iter().map(|j| j.view()).collect::<Vec<_>>(),
        "audit_log": "/v1/audit",
    });
    Ok(Response::json(200, &body)
        .with_header("cache-control", "no-store")
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"quire-export-{t}.json\""),
        ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseRequest {
    /// The tenant's id, typed again: erasure cannot be undone.
    confirm: String,
}

pub async fn erase<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    if who.role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner can erase the tenant".into(),
        ));
    }
    let body: EraseRequest = crate::strict::object(&req.body).map_err(|e| {
        ApiError::Invalid(
            "invalid_body",
            format!("invalid erase request: {e}; send {{\"confirm\": \"<your tenant id>\"}}"),
        )
    })?;
    if body.confirm != who.tenant_id {
        return Err(ApiError::Invalid(
            "confirmation_mismatch",
            "confirm must be your tenant id".into(),
        ));
    }
    if !app.meta.request_erase(&who.tenant_id, ctx.now_ms).await? {
        return Err(ApiError::NotFound("tenant".into()));
    }
    super::gate::bump(app, &who.tenant_id, ctx).await;
    Ok(Response::json(
        202,
        &json!({
            "id": who.tenant_id,
            "status": "erasing",
            "requested_at": rfc3339(ctx.now_ms),
            "detail": "every credential of the tenant is refused from now on; the scheduled sweep deletes its documents, results and metadata, leaving a tombstone",
        }),
    ))
}
