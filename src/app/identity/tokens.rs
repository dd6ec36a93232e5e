//! Identity-provider tokens: the tenant's provider found by issuer, its
//! keys (inline or a fetched, cached JWKS), the signature and claims checked,
//! the signed-in user created on first use; the HS256 secret sealed at rest.

use super::*;

/// Prefix of a stored, encrypted HS256 secret.
const SEALED: &str = "qenc:";

/// Encrypts the HS256 secret under the master key before it is stored, so
/// the metadata database alone never holds it in clear.
pub(super) fn seal<P: Ports>(app: &App<P>, mut cfg: IdpConfig) -> Result<IdpConfig, ApiError> {
    if let Some(secret) = cfg.hs256_secret.take() {
        let mut random = [0u8; 51];
        app.entropy.fill(&mut random);
        let sealed = crate::crypto::encrypt(&app.config.master_keys, secret.as_bytes(), random)
            .map_err(|e| ApiError::Internal(format!("sealing the HS256 secret: {e}")))?;
        cfg.hs256_secret = Some(format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(sealed)));
    }
    Ok(cfg)
}

/// Reverses [`seal`]; a secret that cannot be opened is dropped (HS256
/// tokens are then refused, and the failure is logged).
fn unseal<P: Ports>(app: &App<P>, mut cfg: IdpConfig, ctx: &Ctx) -> IdpConfig {
    let opened = cfg
        .hs256_secret
        .as_deref()
        .and_then(|s| s.strip_prefix(SEALED))
        .map(|b64| {
            URL_SAFE_NO_PAD
                .decode(b64)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    crate::crypto::decrypt(&app.config.master_keys, &bytes)
                        .map_err(|e| e.to_string())
                })
                .and_then(|plain| String::from_utf8(plain).map_err(|e| e.to_string()))
        });
    match opened {
        Some(Ok(secret)) => cfg.hs256_secret = Some(secret),
        Some(Err(e)) => {
            ctx.warn(format!(
                "HS256 secret of an identity provider cannot be opened: {e}"
            ));
            cfg.hs256_secret = None;
        }
        None => {}
    }
    cfg
}

/// The one identity provider an unverified token can belong to: by its
/// issuer, then by the required claim when several tenants share it.
async fn provider_for<P: Ports>(
    app: &App<P>,
    peeked: &Peek,
) -> Result<Option<(IdpRecord, IdpConfig)>, ApiError> {
    let Some(issuer) = peeked.issuer() else {
        return Ok(None);
    };
    let records = app.directory.idps_by_issuer(issuer).await?;
    let mut fitting: Vec<(IdpRecord, IdpConfig)> = records
        .into_iter()
        .filter_map(|r| {
            let cfg: IdpConfig = serde_json::from_str(&r.config).ok()?;
            let claim_ok = cfg.required_claim.as_ref().is_none_or(|rc| {
                peeked.claims.get(&rc.name).and_then(Value::as_str) == Some(rc.value.as_str())
            });
            (cfg.issuer == issuer && claim_ok).then_some((r, cfg))
        })
        .collect();
    Ok(if fitting.len() == 1 {
        fitting.pop()
    } else {
        None
    })
}

/// Fetches the provider's JWKS and records the attempt; the keys, or
/// `None` when the fetch failed.
async fn fetch_jwks<P: Ports>(
    app: &App<P>,
    tenant_id: &str,
    url: &str,
    ctx: &Ctx,
) -> Option<Vec<Value>> {
    let fetched = match app.http.get(url).await {
        Ok((200, body)) if body.len() <= MAX_JWKS_BYTES => serde_json::from_str::<Value>(&body)
            .ok()
            .filter(|v| jwt::jwks_keys(v).is_some()),
        Ok((status, _)) => {
            ctx.warn(format!("JWKS fetch from {url}: HTTP {status} or too large"));
            None
        }
        Err(e) => {
            ctx.warn(format!("JWKS fetch from {url} failed: {e}"));
            None
        }
    };
    let text = fetched.as_ref().map(Value::to_string);
    if let Err(e) = app
        .directory
        .save_jwks(tenant_id, text.as_deref(), ctx.now_ms)
        .await
    {
        ctx.warn(format!("JWKS not cached: {e}"));
    }
    fetched.and_then(|v| jwt::jwks_keys(&v).cloned())
}

fn stored_keys(record: &IdpRecord) -> Vec<Value> {
    record
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| jwt::jwks_keys(&v).cloned())
        .unwrap_or_default()
}

/// Verifies with the provider's keys: inline, or from the cached JWKS,
/// fetched when stale and refetched once on an unknown `kid` (at most once
/// per `jwks_refetch_seconds`, so unknown kids cannot make us hammer the
/// provider).
async fn verify_with_keys<P: Ports>(
    app: &App<P>,
    peeked: &Peek,
    record: &IdpRecord,
    cfg: &IdpConfig,
    ctx: &Ctx,
) -> Result<jwt::Verified, JwtFailure> {
    let now = ctx.now_ms;
    let refetch_ms = u64::from(cfg.jwks_refetch_seconds) * 1000;
    let Some(url) = &cfg.jwks_url else {
        let keys = cfg
            .jwks
            .as_ref()
            .and_then(jwt::jwks_keys)
            .cloned()
            .unwrap_or_default();
        return jwt::verify(&app.signatures, peeked, cfg, &keys, now).await;
    };
    let last = record.jwks_fetched_at_ms;
    let fresh = last.is_some_and(|t| now < t + u64::from(cfg.jwks_ttl_seconds) * 1000);
    let mut fetched_now = false;
    let mut keys = stored_keys(record);
    if !fresh || keys.is_empty() && last.is_none_or(|t| now >= t + refetch_ms) {
        if let Some(k) = fetch_jwks(app, &record.tenant_id, url, ctx).await {
            keys = k;
        }
        fetched_now = true;
    }
    match jwt::verify(&app.signatures, peeked, cfg, &keys, now).await {
        Err(JwtFailure::UnknownKey)
            if !fetched_now && last.is_none_or(|t| now >= t + refetch_ms) =>
        {
            let keys = fetch_jwks(app, &record.tenant_id, url, ctx)
                .await
                .unwrap_or(keys);
            jwt::verify(&app.signatures, peeked, cfg, &keys, now).await
        }
        other => other,
    }
}

pub(super) async fn json_web_token<P: Ports>(
    app: &App<P>,
    token: &str,
    req: &Request,
    ctx: &Ctx,
) -> Result<Principal, ApiError> {
    let peeked = jwt::peek(token).map_err(|_| ApiError::Unauthorized)?;
    let Some((record, cfg)) = provider_for(app, &peeked).await? else {
        return Err(ApiError::Unauthorized);
    };
    let cfg = unseal(app, cfg, ctx);
    let tenant_id = record.tenant_id.clone();
    let subject_hint = peeked
        .claims
        .get(&cfg.claims.subject)
        .and_then(Value::as_str)
        .map(|s| s.chars().take(128).collect::<String>());
    let fail = |reason: &'static str| {
        let actor = subject_hint
            .as_ref()
            .map_or("anonymous".to_string(), |s| format!("subject:{s}"));
        refused(req, ctx, &tenant_id, actor, Some("jwt".into()), reason)
    };
    // Its refusals are audited by its gate, in its shard's region.
    app.enter_for(ctx, record.shard);
    let verified = match verify_with_keys(app, &peeked, &record, &cfg, ctx).await {
        Ok(v) => v,
        Err(f) => {
            fail(f.as_str());
            return Err(ApiError::Unauthorized);
        }
    };
    let Some(tenant) = app.meta.get_tenant(&tenant_id).await? else {
        return Err(ApiError::Unauthorized);
    };
    if tenant.status != "active" {
        fail("tenant_suspended");
        return Err(ApiError::TenantSuspended);
    }
    let user = signed_in_user(app, &tenant_id, &verified, ctx).await?;
    if !user.is_active() {
        fail("user_disabled");
        return Err(ApiError::Unauthorized);
    }
    Ok(principal_of(tenant, user, verified))
}

/// Who a verified token signs in as: what the token claims, within what
/// the user holds.
fn principal_of(
    tenant: crate::tenants::Tenant,
    user: crate::auth::User,
    verified: jwt::Verified,
) -> Principal {
    let role = verified.role.min(user.role);
    let scopes = verified
        .scopes
        .into_iter()
        .filter(|s| role.scopes().contains(s))
        .collect();
    Principal {
        tenant_id: tenant.id,
        key_id: format!("jwt:{}", user.id),
        user_id: Some(user.id),
        role,
        scopes,
        credential: Credential::Jwt,
        rate_limits: Vec::new(),
        plan: tenant.plan,
        retention_days: tenant.retention_days,
        shard: tenant.shard,
        frozen: tenant.moving_since_ms.is_some(),
    }
}

/// The user a verified token names, created on first sign-in; its role
/// follows the token's.
async fn signed_in_user<P: Ports>(
    app: &App<P>,
    tenant_id: &str,
    v: &jwt::Verified,
    ctx: &Ctx,
) -> Result<User, ApiError> {
    if let Some(user) = app
        .directory
        .find_user_by_external_id(tenant_id, &v.subject)
        .await?
    {
        // The stored role stands: a token can lower what a sign-in may do,
        // never raise or rewrite it.
        return Ok(user);
    }
    let mut user = User {
        id: new_id("usr", ctx.now_ms, &app.entropy),
        tenant_id: tenant_id.to_string(),
        email: v
            .email
            .clone()
            .filter(|e| e.len() <= 254 && e.contains('@')),
        name: None,
        external_id: Some(v.subject.clone()),
        // Owners are made by owners, never by a first sign-in.
        role: v.role.min(Role::Admin),
        status: "active".into(),
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
    };
    if app.directory.insert_user(&user).await.is_ok() {
        return Ok(user);
    }
    // A concurrent first sign-in created it: use that one.
    if let Some(existing) = app
        .directory
        .find_user_by_external_id(tenant_id, &v.subject)
        .await?
    {
        return Ok(existing);
    }
    // Another user has the email. A token's email is never used to take
    // over an existing user (the provider may not have verified it): this
    // one is created without it. To link a pre-created user, give it the
    // provider's subject as `external_id`.
    user.email = None;
    app.directory.insert_user(&user).await?;
    Ok(user)
}
