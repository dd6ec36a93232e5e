//! `/v1/documents/{id}/shares`: who else may read or edit a document.

use super::documents::find;
use super::{App, Ctx};
use crate::auth::access::{Access, Grantee, Share};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{DocumentStore, Ports};
use serde_json::json;

pub(super) fn share_view(s: &Share) -> serde_json::Value {
    json!({
        "id": s.grantee.tag(),
        "grantee": { "type": s.grantee.kind(), "id": s.grantee.id() },
        "access": s.access.as_str(),
        "created_by": s.created_by,
        "created_at": crate::time::rfc3339(s.created_at_ms),
    })
}

pub async fn list_shares<P: Ports>(
    app: &App<P>,
    id: &str,
    who: &Principal,
) -> Result<Response, ApiError> {
    let doc = find(app, id, who, Access::Read).await?;
    let shares = app.meta.list_shares(&who.tenant_id, &doc.id).await?;
    let data: Vec<_> = shares.iter().map(share_view).collect();
    Ok(Response::json(200, &json!({ "data": data })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareRequest {
    /// `user:<id>` or `role:<name>`.
    grantee: String,
    access: Access,
}

/// Shares a document (or changes an existing share's access). Anyone who
/// may change the document may share it.
pub async fn put_share<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: ShareRequest = crate::strict::object(&req.body).map_err(|e| {
        ApiError::Invalid(
            "invalid_body",
            format!("invalid share: {e}; expected {{\"grantee\": \"user:<id>\" or \"role:<role>\", \"access\": \"read\" or \"write\"}}"),
        )
    })?;
    let grantee = Grantee::parse_tag(&body.grantee).ok_or_else(|| {
        ApiError::Invalid(
            "invalid_grantee",
            "grantee must be 'user:<user id>' or 'role:<owner|admin|member|viewer>'".into(),
        )
    })?;
    let doc = find(app, id, who, Access::Write).await?;
    if let Grantee::User(user_id) = &grantee {
        let user =
            crate::ports::Directory::get_user(&app.directory, &who.tenant_id, user_id).await?;
        if user.is_none() {
            // The document (the path's resource) is there; the body names
            // a user that is not: the request is wrong, not the URL.
            return Err(ApiError::Invalid(
                "unknown_user",
                format!("no user {user_id} in this tenant"),
            ));
        }
    }
    if grantee == Grantee::Role(Role::Owner) || grantee == Grantee::Role(Role::Admin) {
        return Err(ApiError::Invalid(
            "invalid_grantee",
            "admins and owners already reach every document; share with a user, member or viewer"
                .into(),
        ));
    }
    let share = Share {
        document_id: doc.id.clone(),
        grantee,
        access: body.access,
        created_by: who.actor(),
        created_at_ms: ctx.now_ms,
    };
    app.meta.put_share(&who.tenant_id, &share).await?;
    Ok(Response::json(200, &share_view(&share)))
}

pub async fn delete_share<P: Ports>(
    app: &App<P>,
    id: &str,
    grantee: &str,
    who: &Principal,
) -> Result<Response, ApiError> {
    let doc = find(app, id, who, Access::Write).await?;
    let grantee = Grantee::parse_tag(grantee).ok_or_else(|| ApiError::NotFound("share".into()))?;
    if !app
        .meta
        .delete_share(&who.tenant_id, &doc.id, &grantee)
        .await?
    {
        return Err(ApiError::NotFound("share".into()));
    }
    Ok(Response::new(204))
}
