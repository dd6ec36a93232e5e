//! `/v1/users`: the tenant's users (admins). A user may hold API keys and
//! sign in through the tenant's identity provider; disabling a user refuses
//! all of those at once, on the next request.

use super::identity::may_grant;
use super::{created, App, Ctx};
use crate::auth::{Principal, Role, User};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::{looks_like_id, new_id};
use crate::ports::{Directory, Ports, StoreError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    #[serde(default, deserialize_with = "crate::strict::some")]
    email: Option<String>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    name: Option<String>,
    /// The identity provider's subject (`sub`) for this user.
    #[serde(default, deserialize_with = "crate::strict::some")]
    external_id: Option<String>,
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    #[serde(default, deserialize_with = "crate::strict::some")]
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    role: Option<String>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    status: Option<String>,
}

fn invalid(code: &'static str, msg: &str) -> ApiError {
    ApiError::Invalid(code, msg.to_string())
}

fn parse_role(s: &str) -> Result<Role, ApiError> {
    Role::parse(s).ok_or_else(|| {
        invalid(
            "invalid_role",
            "role must be one of owner, admin, member, viewer",
        )
    })
}

fn check_text(v: &Option<String>, field: &str, max: usize) -> Result<(), ApiError> {
    match v {
        Some(s)
            if s.trim().is_empty() || s.chars().count() > max || s.contains(char::is_control) =>
        {
            Err(ApiError::Invalid(
                "invalid_body",
                format!("{field} must be 1 to {max} printable characters"),
            ))
        }
        _ => Ok(()),
    }
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: CreateUser = crate::strict::object(&req.body)
        .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid user: {e}")))?;
    check_text(&body.email, "email", 254)?;
    check_text(&body.name, "name", 200)?;
    check_text(&body.external_id, "external_id", 256)?;
    if body.email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(invalid("invalid_email", "email must contain '@'"));
    }
    if body.email.is_none() && body.external_id.is_none() {
        return Err(invalid(
            "invalid_body",
            "a user needs an email or an external_id",
        ));
    }
    let role = parse_role(&body.role)?;
    may_grant(who, role)?;
    let user = User {
        id: new_id("usr", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        email: body.email.map(|e| e.trim().to_lowercase()),
        name: body.name.map(|n| n.trim().to_string()),
        external_id: body.external_id,
        role,
        status: "active".into(),
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
    };
    match app.directory.insert_user(&user).await {
        Ok(()) => Ok(created(&format!("/v1/users/{}", user.id), &user)),
        Err(StoreError::Permanent(e)) if e.contains("UNIQUE") => Err(ApiError::Conflict(
            "user_exists",
            "a user with this email or external_id exists".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn list<P: Ports>(app: &App<P>, who: &Principal) -> Result<Response, ApiError> {
    let users = app.directory.list_users(&who.tenant_id).await?;
    Ok(Response::json(200, &json!({ "data": users })))
}

async fn find<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<User, ApiError> {
    if !looks_like_id("usr", id) {
        return Err(ApiError::NotFound("user".into()));
    }
    app.directory
        .get_user(&who.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("user".into()))
}

pub async fn get<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Response, ApiError> {
    Ok(Response::json(200, &find(app, id, who).await?))
}

pub async fn update<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: UpdateUser = crate::strict::object(&req.body)
        .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid user update: {e}")))?;
    check_text(&body.name, "name", 200)?;
    let mut user = find(app, id, who).await?;
    // Nobody changes a user more powerful than themselves.
    may_grant(who, user.role)?;
    if let Some(role) = &body.role {
        let role = parse_role(role)?;
        may_grant(who, role)?;
        user.role = role;
    }
    if let Some(status) = body.status {
        if status != "active" && status != "disabled" {
            return Err(invalid(
                "invalid_status",
                "status must be 'active' or 'disabled'",
            ));
        }
        if status == "disabled" && who.user_id.as_deref() == Some(user.id.as_str()) {
            return Err(ApiError::Conflict(
                "cannot_disable_self",
                "you cannot disable your own user".into(),
            ));
        }
        user.status = status;
    }
    if let Some(name) = body.name {
        user.name = Some(name.trim().to_string());
    }
    user.updated_at_ms = ctx.now_ms;
    if !app.directory.update_user(&user).await? {
        return Err(ApiError::NotFound("user".into()));
    }
    super::gate::bump(app, &who.tenant_id, ctx).await;
    Ok(Response::json(200, &user))
}
