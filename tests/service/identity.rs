//! Application tests of identity and access over in-memory fakes, where the
//! clock can be moved: key expiry and rotation grace, `last_used_at`
//! throttling, JWKS caching and refetching, sealed HS256 secrets, and audit
//! appends that fail without failing the request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use quire_testkit::world::*;
use serde_json::json;

fn post_json(w: &World, key: &str, path: &str, body: Value) -> Response {
    w.send(
        Request::new(Method::Post, path)
            .with_header("authorization", &format!("Bearer {key}"))
            .with_header("content-type", "application/json")
            .with_body(body.to_string()),
    )
}

fn get(w: &World, key: &str, path: &str) -> Response {
    w.send(Request::new(Method::Get, path).with_header("authorization", &format!("Bearer {key}")))
}

fn new_key(w: &World, body: Value) -> Value {
    let resp = post_json(w, ADMIN, "/v1/keys", body);
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    resp.json_body()
}

fn audit_reasons(w: &World) -> Vec<String> {
    w.app
        .directory
        .audit
        .borrow()
        .iter()
        .filter(|e| e.action == "auth.failed")
        .filter_map(|e| e.detail.clone())
        .collect()
}

#[test]
fn a_key_stops_working_when_it_expires_and_the_refusal_is_audited() {
    let w = spawn_app();
    let key = new_key(&w, json!({"name": "short", "expires_in": 60}));
    let secret = key["secret"].as_str().unwrap();
    assert_eq!(get(&w, secret, "/v1/documents").status, 200);
    w.clock.advance(60_000);
    assert_problem(&get(&w, secret, "/v1/documents"), 401, "unauthorized");
    assert!(audit_reasons(&w).iter().any(|d| d.contains("key_expired")));
    let shown = get(
        &w,
        ADMIN,
        &format!("/v1/keys/{}", key["id"].as_str().unwrap()),
    );
    assert_eq!(shown.json_body()["status"], "expired");
}

#[test]
fn a_rotated_key_works_through_its_grace_period_and_not_after() {
    let w = spawn_app();
    let old = new_key(
        &w,
        json!({"name": "svc", "role": "member", "scopes": "documents:read"}),
    );
    let old_secret = old["secret"].as_str().unwrap();
    let id = old["id"].as_str().unwrap();
    let rotated = post_json(
        &w,
        ADMIN,
        &format!("/v1/keys/{id}/rotate"),
        json!({"grace_seconds": 120}),
    );
    assert_eq!(rotated.status, 201);
    let new = rotated.json_body();
    assert_eq!(new["scopes"], "documents:read", "settings carry over");
    let new_secret = new["secret"].as_str().unwrap();
    w.clock.advance(119_000);
    assert_eq!(get(&w, old_secret, "/v1/documents").status, 200);
    w.clock.advance(2_000);
    assert_problem(&get(&w, old_secret, "/v1/documents"), 401, "unauthorized");
    assert_eq!(get(&w, new_secret, "/v1/documents").status, 200);
    let too_long = post_json(
        &w,
        ADMIN,
        &format!("/v1/keys/{}/rotate", new["id"].as_str().unwrap()),
        json!({"grace_seconds": 8 * 86_400}),
    );
    assert_problem(&too_long, 422, "invalid_grace");
}

#[test]
fn last_use_is_written_at_most_once_a_minute() {
    let w = spawn_app();
    let key = new_key(&w, json!({"name": "busy"}));
    let secret = key["secret"].as_str().unwrap();
    let id = key["id"].as_str().unwrap().to_string();
    let last_used = |w: &World| {
        let keys = w.app.meta.keys.borrow();
        keys.iter().find(|k| k.id == id).unwrap().last_used_at_ms
    };
    get(&w, secret, "/v1/documents");
    let first = last_used(&w).expect("recorded on first use");
    w.clock.advance(30_000);
    get(&w, secret, "/v1/documents");
    assert_eq!(last_used(&w), Some(first));
    w.clock.advance(31_000);
    get(&w, secret, "/v1/documents");
    assert!(last_used(&w).unwrap() > first + 60_000);
}

#[test]
fn an_audit_entry_the_directory_refuses_is_kept_and_written_once_it_is_back() {
    let w = spawn_app();
    w.app.gate.directory_faults.fail_next(1);
    let resp = w.upload("text/plain", b"kept");
    assert_eq!(resp.status, 201);
    assert_eq!(w.app.meta.documents.borrow().len(), 1);
    assert!(
        w.app.directory.audit.borrow().is_empty(),
        "held by the gate"
    );
    // A reader lets the gate write out what it holds: nothing was lost,
    // and the chain is whole.
    let log = w.send(w.as_admin(Method::Get, "/v1/audit")).json_body();
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["document.created"]);
    let verified = w
        .send(w.as_admin(Method::Get, "/v1/audit/verify"))
        .json_body();
    assert_eq!(verified["valid"], true, "{verified}");
}

// --- JWT over fakes: the provider's JWKS endpoint is a canned response.

const ISS: &str = "https://idp.example.com";
const JWKS_URL: &str = "https://idp.example.com/jwks.json";

fn es_key(seed: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn jwks(keys: &[(u8, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(seed, kid)| {
            let point = es_key(*seed).verifying_key().to_encoded_point(false);
            json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            })
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

fn token(w: &World, seed: u8, kid: &str, sub: &str) -> String {
    token_with(w, seed, kid, sub, json!({}))
}

/// A signed ES256 token with extra claims merged in.
fn token_with(w: &World, seed: u8, kid: &str, sub: &str, extra: Value) -> String {
    let now = w.clock.0.get() / 1000;
    let header = json!({"alg": "ES256", "kid": kid});
    let mut claims = json!({"iss": ISS, "aud": "quire", "sub": sub, "exp": now + 600});
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig: p256::ecdsa::Signature = es_key(seed).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn with_provider() -> World {
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    w.app
        .http
        .responses
        .borrow_mut()
        .insert(JWKS_URL.into(), (200, jwks(&[(1, "k1")])));
    let put = w.send(
        w.as_admin(Method::Put, "/v1/tenant/idp").with_body(
            json!({
                "issuer": ISS, "audience": "quire", "algorithms": ["ES256"],
                "jwks_url": JWKS_URL, "jwks_ttl_seconds": 600, "jwks_refetch_seconds": 60
            })
            .to_string(),
        ),
    );
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    w
}

fn fetches(w: &World) -> usize {
    w.app.http.fetched.borrow().len()
}

#[test]
fn the_jwks_is_cached_for_its_ttl_and_refetched_after() {
    let w = with_provider();
    let me = get(&w, &token(&w, 1, "k1", "alice"), "/v1/me");
    assert_eq!(me.status, 200, "{}", String::from_utf8_lossy(&me.body));
    assert_eq!(me.json_body()["credential"], "jwt");
    for _ in 0..3 {
        assert_eq!(get(&w, &token(&w, 1, "k1", "alice"), "/v1/me").status, 200);
    }
    assert_eq!(fetches(&w), 1);
    w.clock.advance(600_000);
    assert_eq!(get(&w, &token(&w, 1, "k1", "alice"), "/v1/me").status, 200);
    assert_eq!(fetches(&w), 2, "stale after the TTL");
    assert_eq!(
        w.app.directory.users.borrow().len(),
        1,
        "one user, made on first sign-in"
    );
}

#[test]
fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let w = with_provider();
    assert_eq!(get(&w, &token(&w, 1, "k1", "a"), "/v1/me").status, 200);
    // The provider rotates in k2; the cache does not know it yet.
    w.app
        .http
        .responses
        .borrow_mut()
        .insert(JWKS_URL.into(), (200, jwks(&[(1, "k1"), (2, "k2")])));
    assert_problem(
        &get(&w, &token(&w, 2, "k2", "a"), "/v1/me"),
        401,
        "unauthorized",
    );
    assert_eq!(fetches(&w), 1, "within the interval of the last fetch");
    w.clock.advance(60_000);
    assert_eq!(get(&w, &token(&w, 2, "k2", "a"), "/v1/me").status, 200);
    assert_eq!(fetches(&w), 2);
    for _ in 0..5 {
        assert_problem(
            &get(&w, &token(&w, 3, "k9", "a"), "/v1/me"),
            401,
            "unauthorized",
        );
    }
    assert_eq!(fetches(&w), 2, "a flood of unknown kids costs no fetch");
}

#[test]
fn a_provider_outage_keeps_the_cached_keys_working() {
    let w = with_provider();
    assert_eq!(get(&w, &token(&w, 1, "k1", "a"), "/v1/me").status, 200);
    w.app.http.responses.borrow_mut().clear();
    w.clock.advance(601_000);
    assert_eq!(get(&w, &token(&w, 1, "k1", "a"), "/v1/me").status, 200);
    assert_eq!(
        fetches(&w),
        2,
        "tried, failed, fell back to the cached keys"
    );
    assert_eq!(get(&w, &token(&w, 1, "k1", "a"), "/v1/me").status, 200);
    assert_eq!(fetches(&w), 2, "the failed attempt counts for the TTL");
}

#[test]
fn the_hs256_secret_is_stored_sealed_and_still_verifies() {
    let w = with_provider();
    let secret = "a-shared-secret-that-is-long-enough-123";
    let put = w.send(
        w.as_admin(Method::Put, "/v1/tenant/idp").with_body(
            json!({"issuer": ISS, "audience": "quire", "algorithms": ["HS256"], "hs256_secret": secret})
                .to_string(),
        ),
    );
    assert_eq!(put.status, 200);
    let stored = w.app.directory.idps.borrow()["ten_a"].config.clone();
    assert!(
        !stored.contains(secret) && stored.contains("qenc:"),
        "{stored}"
    );
    let now = w.clock.0.get() / 1000;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256"}).to_string()),
        URL_SAFE_NO_PAD
            .encode(json!({"iss": ISS, "aud": "quire", "sub": "s", "exp": now + 60}).to_string())
    );
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let jwt = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(get(&w, &jwt, "/v1/me").status, 200);
    let shown = get(&w, ADMIN, "/v1/tenant/idp").json_body();
    assert_eq!(shown["hs256_secret_set"], true);
    assert!(shown.get("hs256_secret").is_none());
}

#[test]
fn a_member_lists_only_what_it_may_see_page_by_page() {
    let w = spawn_app();
    let member = new_key(&w, json!({"name": "m", "role": "member"}));
    let m = member["secret"].as_str().unwrap();
    let mine: Vec<String> = (0..3)
        .map(|i| {
            let r = w.send(
                Request::new(Method::Post, "/v1/documents")
                    .with_header("authorization", &format!("Bearer {m}"))
                    .with_header("content-type", "text/plain")
                    .with_body(format!("mine {i}").into_bytes()),
            );
            r.json_body()["id"].as_str().unwrap().to_string()
        })
        .collect();
    let theirs = w.upload_id("text/plain", b"the admin's");
    let page1 = get(&w, m, "/v1/documents?limit=2").json_body();
    let page2 = get(
        &w,
        m,
        &format!(
            "/v1/documents?limit=2&cursor={}",
            page1["next_cursor"].as_str().unwrap()
        ),
    )
    .json_body();
    let mut seen: Vec<String> = page1["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["data"].as_array().unwrap())
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    assert_eq!(seen, mine);
    assert!(page2["next_cursor"].is_null());
    assert_problem(
        &get(&w, m, &format!("/v1/documents/{theirs}")),
        404,
        "not_found",
    );
    let all = get(&w, ADMIN, "/v1/documents?limit=10").json_body();
    assert_eq!(all["data"].as_array().unwrap().len(), 4);
}

#[test]
fn a_token_email_never_takes_over_an_existing_user() {
    let w = with_provider();
    let created = w.send(
        w.as_admin(Method::Post, "/v1/users")
            .with_body(json!({"email": "boss@example.com", "role": "admin"}).to_string()),
    );
    assert_eq!(created.status, 201);
    let boss_id = created.json_body()["id"].as_str().unwrap().to_string();
    let jwt = token_with(
        &w,
        1,
        "k1",
        "intruder",
        json!({"email": "boss@example.com", "role": "member"}),
    );
    let me = get(&w, &jwt, "/v1/me").json_body();
    assert_eq!(me["role"], "member");
    assert_ne!(me["user_id"], boss_id.as_str());
    let users = w.app.directory.users.borrow();
    let intruder = users
        .iter()
        .find(|u| u.external_id.as_deref() == Some("intruder"))
        .unwrap();
    assert_eq!(intruder.email, None);
}

#[test]
fn an_export_holds_the_tenants_metadata_and_an_erasure_leaves_only_a_tombstone() {
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    let doc = w.upload_id("text/plain", b"to be forgotten");
    let job = w.job_id(&doc);
    w.deliver(&job);
    post_json(&w, ADMIN, "/v1/users", json!({"email": "u@example.com"}));
    let other = w.upload_id("text/plain", b"x");
    let _ = other;

    let export = get(&w, ADMIN, "/v1/export");
    assert_eq!(export.status, 200);
    let e = export.json_body();
    assert_eq!(e["format"], "quire-export-1");
    assert_eq!(e["documents"].as_array().unwrap().len(), 2);
    assert_eq!(e["jobs"][0]["id"], job.as_str());
    assert_eq!(e["users"][0]["email"], "u@example.com");
    assert!(
        !String::from_utf8_lossy(&export.body).contains("\"hash\""),
        "no key hashes"
    );

    // Only an owner, and only with the tenant id typed again.
    let admin = new_key(&w, json!({"name": "a", "role": "admin"}));
    let as_admin = w.send(
        Request::new(Method::Delete, "/v1/tenant")
            .with_header(
                "authorization",
                &format!("Bearer {}", admin["secret"].as_str().unwrap()),
            )
            .with_body(r#"{"confirm":"ten_a"}"#),
    );
    assert_problem(&as_admin, 403, "forbidden");
    let wrong = w.send(
        w.as_admin(Method::Delete, "/v1/tenant")
            .with_body(r#"{"confirm":"ten_b"}"#),
    );
    assert_problem(&wrong, 422, "confirmation_mismatch");
    let ok = w.send(
        w.as_admin(Method::Delete, "/v1/tenant")
            .with_body(r#"{"confirm":"ten_a"}"#),
    );
    assert_eq!(ok.status, 202);
    assert_problem(&get(&w, ADMIN, "/v1/documents"), 403, "tenant_suspended");

    let report = futures::executor::block_on(w.app.sweep(w.clock.0.get()));
    assert_eq!(report.tenants_erased, 1, "{report:?}");
    assert!(
        report.erased_objects >= 3,
        "original, extraction and result"
    );
    let objects = w.app.blobs.inner.objects.borrow();
    assert!(!objects.keys().any(|k| k.starts_with("tenants/ten_a/")));
    assert!(w
        .app
        .meta
        .documents
        .borrow()
        .values()
        .all(|d| d.tenant_id != "ten_a"));
    assert!(w
        .app
        .meta
        .jobs
        .borrow()
        .values()
        .all(|j| j.tenant_id != "ten_a"));
    assert!(w
        .app
        .meta
        .keys
        .borrow()
        .iter()
        .all(|k| k.tenant_id != "ten_a"));
    assert!(w
        .app
        .directory
        .users
        .borrow()
        .iter()
        .all(|u| u.tenant_id != "ten_a"));
    assert!(w
        .app
        .directory
        .audit
        .borrow()
        .iter()
        .all(|e| e.tenant_id != "ten_a"));
    assert!(w.app.meta.tenants.borrow().get("ten_a").is_none());
    let tomb = w.app.directory.tombstones.borrow()["ten_a"].clone();
    assert!(
        tomb.audit_head.is_some(),
        "the tombstone keeps the audit chain's last hash"
    );
    // Another tenant is untouched.
    assert!(w
        .app
        .meta
        .keys
        .borrow()
        .iter()
        .any(|k| k.tenant_id == "ten_b"));
    drop(objects);
    assert_problem(&get(&w, ADMIN, "/v1/documents"), 401, "unauthorized");
}

#[test]
fn a_tenants_own_retention_sets_the_expiry_of_uploads_that_name_none() {
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    let patch = |body: &str| {
        w.send(
            Request::new(Method::Patch, "/v1/tenants/ten_a")
                .with_header("authorization", &format!("Bearer {OPERATOR}"))
                .with_body(body.to_string()),
        )
    };
    assert_problem(
        &patch(r#"{"retention_days": -5}"#),
        422,
        "invalid_retention",
    );
    let set = patch(r#"{"retention_days": 3}"#);
    assert_eq!(set.status, 200);
    assert_eq!(set.json_body()["retention_days"], 3);
    let doc = w.upload("text/plain", b"kept three days").json_body();
    let expires = quire::time::parse_rfc3339(doc["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - w.clock.0.get(), 3 * 86_400_000);
    // An explicit expiry still wins; -1 returns to the environment's (keep).
    let explicit = w.send(
        w.as_admin(Method::Post, "/v1/documents?expires_in=60")
            .with_header("content-type", "text/plain")
            .with_body(b"one minute".to_vec()),
    );
    let e =
        quire::time::parse_rfc3339(explicit.json_body()["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(e - w.clock.0.get(), 60_000);
    assert_eq!(patch(r#"{"retention_days": -1}"#).status, 200);
    assert!(w.upload("text/plain", b"forever").json_body()["expires_at"].is_null());
}

#[test]
fn a_flood_of_bad_credentials_does_not_flood_the_audit_log() {
    let w = spawn_app();
    let key = new_key(&w, json!({"name": "doomed"}));
    let secret = key["secret"].as_str().unwrap().to_string();
    let id = key["id"].as_str().unwrap().to_string();
    assert_eq!(
        w.send(w.as_admin(Method::Delete, &format!("/v1/keys/{id}")))
            .status,
        204
    );
    for _ in 0..110 {
        assert_problem(&get(&w, &secret, "/v1/documents"), 401, "unauthorized");
    }
    let audited = audit_reasons(&w)
        .iter()
        .filter(|d| d.contains("key_revoked"))
        .count();
    assert_eq!(
        audited, 100,
        "the first 100 a minute are audited, the rest only logged"
    );
}

#[test]
fn a_key_made_without_scopes_holds_only_what_its_creator_holds() {
    let w = spawn_app();
    let keys_admin = new_key(
        &w,
        json!({"name": "ka", "role": "admin", "scopes": "keys:admin"}),
    );
    let ka = keys_admin["secret"].as_str().unwrap();
    let made = post_json(
        &w,
        ka,
        "/v1/keys",
        json!({"name": "child", "role": "admin"}),
    );
    assert_eq!(made.status, 201);
    assert_eq!(made.json_body()["scopes"], "keys:admin");
    let child = made.json_body()["secret"].as_str().unwrap().to_string();
    assert_problem(&get(&w, &child, "/v1/audit"), 403, "forbidden");
    // Asking for a scope the creator lacks is refused outright.
    let asked = post_json(
        &w,
        ka,
        "/v1/keys",
        json!({"name": "x", "role": "admin", "scopes": "audit:read"}),
    );
    assert_problem(&asked, 403, "forbidden");
}

#[test]
fn a_keys_scopes_may_be_sent_as_a_json_array_or_one_string() {
    let w = spawn_app();
    let as_array = new_key(
        &w,
        json!({"name": "arr", "role": "member", "scopes": ["jobs:read", "documents:read"]}),
    );
    assert_eq!(as_array["scopes"], "documents:read jobs:read");
    let as_text = new_key(
        &w,
        json!({"name": "txt", "role": "member", "scopes": "jobs:read documents:read"}),
    );
    assert_eq!(as_text["scopes"], as_array["scopes"]);
    // An item holding two scopes, an empty list and a non-string are refused.
    for scopes in [json!(["jobs:read documents:read"]), json!([]), json!([1])] {
        let resp = post_json(
            &w,
            ADMIN,
            "/v1/keys",
            json!({"name": "bad", "role": "member", "scopes": scopes}),
        );
        assert_eq!(resp.status, 422, "{scopes}");
    }
}

#[test]
fn a_narrow_key_admin_cannot_rotate_or_revoke_a_broader_key() {
    let w = spawn_app();
    let full = new_key(&w, json!({"name": "full", "role": "admin"}));
    let narrow = new_key(
        &w,
        json!({"name": "ka", "role": "admin", "scopes": "keys:admin"}),
    );
    let ka = narrow["secret"].as_str().unwrap();
    let id = full["id"].as_str().unwrap();
    let rotate = post_json(
        &w,
        ka,
        &format!("/v1/keys/{id}/rotate"),
        json!({"grace_seconds": 0}),
    );
    assert_problem(&rotate, 403, "forbidden");
    assert!(rotate.json_body().get("secret").is_none());
    let revoke = w.send(
        Request::new(Method::Delete, &format!("/v1/keys/{id}"))
            .with_header("authorization", &format!("Bearer {ka}")),
    );
    assert_problem(&revoke, 403, "forbidden");
    // The full key still works.
    let secret = full["secret"].as_str().unwrap();
    assert_eq!(get(&w, secret, "/v1/audit").status, 200);
}

#[test]
fn a_wrong_typed_grace_period_is_refused_and_rotates_nothing() {
    let w = spawn_app();
    let k = new_key(&w, json!({"name": "k"}));
    let id = k["id"].as_str().unwrap();
    for grace in [json!(null), json!("0"), json!(-1), json!(1.5)] {
        let r = post_json(
            &w,
            ADMIN,
            &format!("/v1/keys/{id}/rotate"),
            json!({"grace_seconds": grace}),
        );
        assert_problem(&r, 422, "invalid_body");
    }
    let shown = get(&w, ADMIN, &format!("/v1/keys/{id}"));
    assert_eq!(shown.json_body()["rotated_to"], Value::Null);
}

#[test]
fn a_viewer_cannot_replay_an_owners_key_creation() {
    let w = spawn_app();
    let viewer = new_key(&w, json!({"name": "v", "role": "viewer"}));
    let v = viewer["secret"].as_str().unwrap();
    let body = json!({"name": "ci", "role": "admin"}).to_string();
    let send = |key: &str| {
        w.send(
            Request::new(Method::Post, "/v1/keys")
                .with_header("authorization", &format!("Bearer {key}"))
                .with_header("content-type", "application/json")
                .with_header("idempotency-key", "K-1")
                .with_body(body.clone()),
        )
    };
    let first = send(ADMIN);
    assert_eq!(first.status, 201);
    let replay = send(v);
    assert_problem(&replay, 403, "forbidden");
    assert!(!String::from_utf8_lossy(&replay.body).contains("qk_"));
    // The owner's own retry replays its response.
    let again = send(ADMIN);
    assert_eq!(again.status, 201);
    assert_eq!(again.json_body()["secret"], first.json_body()["secret"]);
}
