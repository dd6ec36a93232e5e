//! The claims of a token whose signature has been verified: its times
//! (`exp` required, `nbf`, `iat`), `iss`, `aud`, the tenant's required
//! claim, and what they make of the signed-in user. Pure: the time is
//! passed in.

use super::{IdpConfig, JwtFailure, Verified};
use crate::auth::{Role, Scope};
use serde_json::{Map, Value};

/// A NumericDate claim (RFC 7519 §2: seconds, fractions allowed); absent
/// is `None`, anything but a number is a malformed token.
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, JwtFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(JwtFailure::Malformed),
    }
}

fn check_times(claims: &Map<String, Value>, leeway: f64, now: f64) -> Result<(), JwtFailure> {
    let exp = seconds(claims, "exp")?.ok_or(JwtFailure::MissingExpiry)?;
    if exp + leeway < now {
        return Err(JwtFailure::Expired);
    }
    // A token issued (or valid from) later than now, beyond the leeway
    // for clock skew, is not valid yet.
    for name in ["nbf", "iat"] {
        if seconds(claims, name)?.is_some_and(|t| t - leeway > now) {
            return Err(JwtFailure::NotYetValid);
        }
    }
    Ok(())
}

fn check_audience(custom: &Map<String, Value>, cfg: &IdpConfig) -> Result<(), JwtFailure> {
    if custom.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
        return Err(JwtFailure::WrongIssuer);
    }
    let aud_ok = match custom.get("aud") {
        Some(Value::String(a)) => *a == cfg.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&cfg.audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(JwtFailure::WrongAudience);
    }
    if let Some(req) = &cfg.required_claim {
        if custom.get(&req.name).and_then(Value::as_str) != Some(req.value.as_str()) {
            return Err(JwtFailure::RequiredClaim);
        }
    }
    Ok(())
}

/// A claim holding a space-separated string or an array of strings.
fn strings(custom: &Map<String, Value>, name: &Option<String>) -> Option<Vec<String>> {
    match custom.get(name.as_deref()?)? {
        Value::String(s) => Some(s.split_whitespace().map(str::to_string).collect()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// Checks verified claims against the tenant's configuration at `now_ms`.
pub(super) fn check(
    custom: &Map<String, Value>,
    cfg: &IdpConfig,
    now_ms: u64,
) -> Result<Verified, JwtFailure> {
    check_times(
        custom,
        f64::from(cfg.leeway_seconds),
        now_ms as f64 / 1000.0,
    )?;
    check_audience(custom, cfg)?;
    let subject = custom
        .get(&cfg.claims.subject)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or(JwtFailure::NoSubject)?
        .to_string();
    // Owners are made in Quire, never by a token.
    let role = strings(custom, &cfg.claims.role)
        .and_then(|names| names.iter().filter_map(|n| Role::parse(n)).max())
        .map(|r| r.min(Role::Admin))
        .unwrap_or(cfg.default_role);
    let scopes = match strings(custom, &cfg.claims.scopes) {
        Some(names) => {
            let mut s: Vec<Scope> = names
                .iter()
                .filter_map(|n| Scope::parse(n))
                .filter(|s| role.scopes().contains(s))
                .collect();
            s.sort();
            s.dedup();
            s
        }
        None => role.scopes().to_vec(),
    };
    let email = cfg
        .claims
        .email
        .as_deref()
        .and_then(|n| custom.get(n))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Verified {
        subject,
        email,
        role,
        scopes,
    })
}
