//! The audit log over HTTP (`/v1/audit`, `/v1/audit/verify`), and the one
//! place entries are appended: after each audited request, by route.

use super::{App, Ctx};
use crate::audit::{verify as verify_chain, Draft, Entry, Filter};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::routes::{spec_of, RouteId};
use crate::http::{Request, Response};
use crate::ports::{Directory, Gate, Ports};
use serde_json::{json, Value};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Entries read per step of a chain verification.
const VERIFY_BATCH: u32 = 500;

/// The outcome of a request as the audit log names it.
pub fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 => "denied",
        404 => "not_found",
        _ => "error",
    }
}

/// The client's address as Cloudflare reports it.
pub fn client_ip(req: &Request) -> Option<String> {
    req.header("cf-connecting-ip")
        .filter(|ip| ip.len() <= 64)
        .map(str::to_string)
}

/// A draft for a request by `who`.
pub fn draft_for(who: &Principal, req: &Request, ctx: &Ctx, action: &str) -> Draft {
    Draft {
        tenant_id: who.tenant_id.clone(),
        at_ms: ctx.now_ms,
        actor: who.actor(),
        via: Some(who.via()),
        action: action.to_string(),
        ip: client_ip(req),
        request_id: Some(ctx.request_id.clone()),
        ..Draft::default()
    }
}

/// The id a successful creation returned (`{"id": …}` or `{"tenant": {"id": …}}`).
fn created_id(resp: &Response) -> Option<String> {
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    v.get("id")
        .or_else(|| v.get("tenant").and_then(|t| t.get("id")))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Fills in what a finished request tells: resource, outcome, detail.
pub fn complete(
    mut draft: Draft,
    id: RouteId,
    param: &str,
    req: &Request,
    outcome: Result<&Response, &ApiError>,
) -> Draft {
    let kind = spec_of(id).audit.map_or("resource", |(_, k)| k);
    let status = match outcome {
        Ok(r) => r.status,
        Err(e) => e.status(),
    };
    draft.outcome = outcome_of(status).to_string();
    let resource_id = match (outcome, param.is_empty()) {
        (Ok(resp), true) if resp.status == 201 || resp.status == 202 => created_id(resp),
        (_, false) => Some(param.chars().take(64).collect()),
        _ if kind == "tenant" => Some(draft.tenant_id.clone()),
        _ => None,
    };
    draft.resource = resource_id.map(|r| format!("{kind}:{r}"));
    let mut detail = serde_json::Map::new();
    if let Err(e) = outcome {
        detail.insert("code".into(), e.code().into());
    }
    if matches!(id, RouteId::PutShare) {
        // The share's grantee and access: small, and already validated.
        if let Ok(body) = serde_json::from_slice::<Value>(&req.body) {
            for k in ["grantee", "access"] {
                if let Some(v) = body.get(k).filter(|v| v.to_string().len() <= 128) {
                    detail.insert(k.into(), v.clone());
                }
            }
        }
    }
    if matches!(id, RouteId::DeleteShare) {
        if let Some(g) = req.path.rsplit('/').next() {
            detail.insert("grantee".into(), crate::http::percent_decode(g).into());
        }
    }
    if !detail.is_empty() {
        draft.detail = Some(Value::Object(detail).to_string());
    }
    draft
}

/// Entries are appended after their requests' responses: a reader first
/// lets the gate write out what it holds (best effort: the log may then
/// trail by the entries still on their way).
async fn settled<P: Ports>(app: &App<P>, tenant_id: &str) {
    let _ = app.gate.flush(tenant_id).await;
}

/// An RFC 3339 time in ms; one before 1970 is 1970 (nothing is older).
fn parse_rfc3339_clamped(v: &str) -> Option<u64> {
    crate::time::parse_rfc3339_signed(v).map(|ms| u64::try_from(ms).unwrap_or(0))
}

fn time_param(req: &Request, name: &str) -> Result<Option<u64>, ApiError> {
    req.query_param(name)
        .map(|v| {
            parse_rfc3339_clamped(&v).ok_or_else(|| {
                ApiError::Invalid(
                    "invalid_time",
                    format!("{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"),
                )
            })
        })
        .transpose()
}

pub async fn list<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
    let before = req
        .query_param("cursor")
        .map(|c| {
            c.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::Invalid(
                    "invalid_cursor",
                    "cursor must be a next_cursor value from a previous page".into(),
                )
            })
        })
        .transpose()?;
    let short = |name: &str| {
        req.query_param(name)
            .map(|v| {
                if v.is_empty() || v.chars().count() > 128 {
                    Err(ApiError::Invalid(
                        "invalid_filter",
                        format!("{name} must be 1 to 128 characters"),
                    ))
                } else {
                    Ok(v)
                }
            })
            .transpose()
    };
    let filter = Filter {
        action: short("action")?,
        actor: short("actor")?,
        resource: short("resource")?,
        outcome: short("outcome")?,
        since_ms: time_param(req, "since")?,
        until_ms: time_param(req, "until")?,
    };
    settled(app, &who.tenant_id).await;
    let mut entries = app
        .directory
        .list_audit(&who.tenant_id, &filter, before, limit + 1)
        .await?;
    let next = (entries.len() > limit as usize).then(|| {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.seq.to_string())
    });
    let data: Vec<Value> = entries.iter().map(Entry::view).collect();
    Ok(Response::json(
        200,
        &json!({ "data": data, "next_cursor": next.flatten() }),
    ))
}

/// Walks the tenant's whole chain, oldest first, and reports where it
/// breaks, if anywhere.
pub async fn verify<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    settled(app, &who.tenant_id).await;
    let mut prev: Option<(u64, String)> = None;
    let mut checked = 0u64;
    loop {
        let after = prev.as_ref().map_or(0, |(s, _)| *s);
        let batch = app
            .directory
            .audit_after(&who.tenant_id, after, VERIFY_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        let last = (last.seq, last.hash.clone());
        if let Err(broken) = verify_chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), &batch) {
            return Ok(Response::json(
                200,
                &json!({
                    "valid": false,
                    "entries_checked": checked + broken.seq.saturating_sub(after + 1),
                    "broken_at": broken.seq,
                    "reason": broken.reason,
                }),
            ));
        }
        checked += batch.len() as u64;
        prev = Some(last);
        if batch.len() < VERIFY_BATCH as usize {
            break;
        }
    }
    Ok(Response::json(
        200,
        &json!({
            "valid": true,
            "entries_checked": checked,
            "head": prev.map(|(seq, hash)| json!({"seq": seq, "hash": hash})),
        }),
    ))
}
