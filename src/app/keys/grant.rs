//! What a new key may hold: its user (an active one of the tenant), its
//! role (never above the caller's grant nor its user's), its scopes
//! (within the role and what the caller holds) and its own rate limits.

use crate::app::identity::may_grant;
use crate::app::App;
use crate::auth::{parse_scopes, Principal, Role, Scope, User};
use crate::error::ApiError;
use crate::ids::looks_like_id;
use crate::ports::{Directory, Ports};
use serde::Deserialize;

use super::invalid;

/// Scopes as a client may send them: `["jobs:read", …]` or
/// `"jobs:read …"`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ScopeList {
    Items(Vec<String>),
    Text(String),
}

impl ScopeList {
    fn parse(&self) -> Result<Vec<Scope>, String> {
        match self {
            ScopeList::Text(list) => parse_scopes(list),
            ScopeList::Items(items) => {
                if let Some(bad) = items.iter().find(|i| {
                    i.trim() != i.as_str() || i.contains(char::is_whitespace) || i.is_empty()
                }) {
                    return Err(format!("unknown scope '{bad}'"));
                }
                parse_scopes(&items.join(" "))
            }
        }
    }
}

/// The user a key is made for, which must be an active user of the
/// caller's tenant.
pub(super) async fn user_of<P: Ports>(
    app: &App<P>,
    who: &Principal,
    user_id: Option<&str>,
) -> Result<Option<User>, ApiError> {
    let Some(id) = user_id else {
        return Ok(None);
    };
    let user = if looks_like_id("usr", id) {
        app.directory.get_user(&who.tenant_id, id).await?
    } else {
        None
    };
    match user {
        Some(u) if u.is_active() => Ok(Some(u)),
        Some(_) => Err(invalid("user_disabled", "the user is disabled")),
        None => Err(invalid("unknown_user", "no such user in this tenant")),
    }
}

/// The key's role: as asked, else its user's, else member; never above
/// what the caller may grant nor above its user.
pub(super) fn role_of(
    asked: Option<&str>,
    user: Option<&User>,
    who: &Principal,
) -> Result<Role, ApiError> {
    let role = match (asked, user) {
        (Some(r), _) => Role::parse(r).ok_or_else(|| {
            invalid(
                "invalid_role",
                "role must be one of owner, admin, member, viewer",
            )
        })?,
        (None, Some(u)) => u.role,
        (None, None) => Role::Member,
    };
    may_grant(who, role)?;
    if let Some(u) = user.filter(|u| role > u.role) {
        return Err(invalid(
            "invalid_role",
            format!("the user is a {}: its keys cannot be more", u.role.as_str()),
        ));
    }
    Ok(role)
}

/// The key's scopes: `None` for all of its role's. A key never carries a
/// scope its role lacks nor one its creator does not hold.
pub(super) fn scopes_of(
    asked: Option<&ScopeList>,
    role: Role,
    who: &Principal,
) -> Result<Option<Vec<Scope>>, ApiError> {
    let Some(list) = asked else {
        let granted: Vec<Scope> = role
            .scopes()
            .iter()
            .copied()
            .filter(|s| who.scopes.contains(s))
            .collect();
        if granted.is_empty() {
            return Err(ApiError::Forbidden(format!(
                "you hold none of the {} role's scopes",
                role.as_str()
            )));
        }
        return Ok((granted.len() < role.scopes().len()).then_some(granted));
    };
    let scopes = list.parse().map_err(|why| invalid("invalid_scopes", why))?;
    if scopes.is_empty() {
        return Err(invalid(
            "invalid_scopes",
            "scopes must name at least one scope",
        ));
    }
    if let Some(s) = scopes.iter().find(|s| !role.scopes().contains(s)) {
        return Err(invalid(
            "invalid_scopes",
            format!("the {} role does not grant '{}'", role.as_str(), s.as_str()),
        ));
    }
    if let Some(s) = scopes.iter().find(|s| !who.scopes.contains(s)) {
        return Err(ApiError::Forbidden(format!(
            "you cannot grant '{}', which you do not hold",
            s.as_str()
        )));
    }
    Ok(Some(scopes))
}

/// Per-class overrides such as `{"read": "100/60"}`, for the classes a
/// key's own limits may narrow.
pub(super) fn rate_limits_of(
    asked: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<crate::ratelimit::Policy>, ApiError> {
    let spec: Vec<String> = asked
        .iter()
        .map(|(class, rate)| format!("{class}={rate}"))
        .collect();
    let rate_limits = crate::ratelimit::parse_policies(&spec.join(","))
        .map_err(|why| invalid("invalid_rate_limits", why))?;
    if let Some(p) = rate_limits
        .iter()
        .find(|p| !["read", "upload", "jobs"].contains(&p.name.as_str()))
    {
        return Err(invalid(
            "invalid_rate_limits",
            format!("unknown route class '{}': use read, upload or jobs", p.name),
        ));
    }
    Ok(rate_limits)
}
