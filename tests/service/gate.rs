//! The request gate over the fakes: how many round trips a request costs
//! before its response (so they cannot creep back), and that credentials
//! remembered between requests never outlive a change to who may call.

use quire_testkit::world::*;

/// Calls made to every fake that stands for an outside system.
fn calls(w: &World) -> u32 {
    w.app.meta.faults.calls()
        + w.app.directory.faults.calls()
        + w.app.blobs.inner.faults.calls()
        + w.app.queue.faults.calls()
        + w.app.limiter.faults.calls()
        + w.app.gate.faults.calls()
}

/// Sends a request; its response and the round trips made before it (the
/// work left for after the response is then done, as `waitUntil` would).
fn round_trips(w: &World, req: Request) -> (Response, u32) {
    w.clock.advance(1);
    let before = calls(w);
    let ctx = Ctx::new(w.clock.0.get(), "req_counted");
    let resp = block_on(w.app.handle(&req, &ctx));
    let made = calls(w) - before;
    assert!(block_on(w.app.finish(ctx.take_after())).is_empty());
    (resp, made)
}

/// Makes the admin key known to the isolate's credential cache (the first
/// request sees the tenant's epoch, the second reads under it).
fn warm(w: &World) {
    for _ in 0..2 {
        assert_eq!(w.send(w.as_admin(Method::Get, "/v1/me")).status, 200);
    }
}

#[test]
fn reading_a_document_costs_two_round_trips() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"two round trips");
    warm(&w);
    let (resp, made) = round_trips(&w, w.as_admin(Method::Get, &format!("/v1/documents/{doc}")));
    assert_eq!(resp.status, 200);
    assert!(made <= 2, "GET a document made {made} round trips");
}

#[test]
fn a_small_upload_costs_at_most_four_round_trips() {
    let w = spawn_app();
    warm(&w);
    let req = w
        .as_admin(Method::Post, "/v1/documents")
        .with_header("content-type", "text/plain")
        .with_body(b"four round trips".to_vec());
    let (resp, made) = round_trips(&w, req);
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert!(made <= 4, "a small upload made {made} round trips");
}

#[test]
fn an_idempotency_key_is_begun_in_the_same_round_trip() {
    let w = spawn_app();
    warm(&w);
    let req = || {
        w.as_admin(Method::Post, "/v1/documents")
            .with_header("content-type", "text/plain")
            .with_header("idempotency-key", "once")
            .with_body(b"x".to_vec())
    };
    let (first, made) = round_trips(&w, req());
    assert_eq!(first.status, 201);
    // The upload's four, the document's own key check (it outlives the
    // gate's 24 h record) and the stored response for replays.
    assert!(made <= 6, "{made} round trips");
    let (again, made) = round_trips(&w, req());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(made, 1, "a replay is decided by the gate call alone");
    assert_eq!(w.app.gate.lone_begins.get(), 0);
}

#[test]
fn a_revoked_key_is_refused_on_the_next_request_though_it_was_cached() {
    let w = spawn_app();
    let created = w.send(
        w.as_admin(Method::Post, "/v1/keys")
            .with_body(r#"{"name":"ci","role":"viewer"}"#),
    );
    let id = created.json_body()["id"].as_str().unwrap().to_string();
    let secret = created.json_body()["secret"].as_str().unwrap().to_string();
    let me = || {
        w.send(
            Request::new(Method::Get, "/v1/me")
                .with_header("authorization", &format!("Bearer {secret}")),
        )
    };
    for _ in 0..3 {
        assert_eq!(me().status, 200);
    }
    let key_reads = w.app.meta.faults.calls();
    assert_eq!(me().status, 200);
    assert_eq!(
        w.app.meta.faults.calls(),
        key_reads,
        "served from the cache"
    );
    let revoked = w.send(w.as_admin(Method::Delete, &format!("/v1/keys/{id}")));
    assert_eq!(revoked.status, 204);
    assert_eq!(me().status, 401);
}

#[test]
fn a_disabled_user_is_refused_on_the_next_request_though_the_key_was_cached() {
    let w = spawn_app();
    let user = w.send(
        w.as_admin(Method::Post, "/v1/users")
            .with_body(r#"{"email":"ann@example.com","role":"member"}"#),
    );
    assert_eq!(user.status, 201, "{}", String::from_utf8_lossy(&user.body));
    let user_id = user.json_body()["id"].as_str().unwrap().to_string();
    let created = w.send(w.as_admin(Method::Post, "/v1/keys").with_body(format!(
        r#"{{"name":"ann","role":"member","user_id":"{user_id}"}}"#
    )));
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let secret = created.json_body()["secret"].as_str().unwrap().to_string();
    let list = || {
        w.send(
            Request::new(Method::Get, "/v1/documents")
                .with_header("authorization", &format!("Bearer {secret}")),
        )
    };
    for _ in 0..3 {
        assert_eq!(list().status, 200);
    }
    let disabled = w.send(
        w.as_admin(Method::Patch, &format!("/v1/users/{user_id}"))
            .with_body(r#"{"status":"disabled"}"#),
    );
    assert_eq!(
        disabled.status,
        200,
        "{}",
        String::from_utf8_lossy(&disabled.body)
    );
    assert_eq!(list().status, 401);
}

#[test]
fn a_cached_key_is_read_again_when_the_gate_cannot_confirm_it() {
    let w = spawn_app();
    warm(&w);
    let reads = w.app.meta.faults.calls();
    w.app.gate.faults.fail_next(1);
    assert_eq!(w.send(w.as_admin(Method::Get, "/v1/me")).status, 200);
    assert!(w.app.meta.faults.calls() > reads, "the key was read again");
}

#[test]
fn a_rate_limited_request_is_not_charged_to_the_budget() {
    let w = spawn_app();
    let req = || {
        Request::new(Method::Get, "/v1/documents")
            .with_header("authorization", &format!("Bearer {FREE_TENANT}"))
    };
    // The free plan reads 2 a minute.
    let statuses: Vec<u16> = (0..5).map(|_| w.send(req()).status).collect();
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
    let month = quire::usage::month_of(w.clock.0.get());
    let charged = w.app.gate.totals_of("ten_free", &month)["requests"];
    assert_eq!(charged, 2, "only the requests let through are charged");
}

#[test]
fn every_audited_request_gets_the_next_number_in_the_chain() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"numbered");
    for _ in 0..20 {
        let resp = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}")));
        assert_eq!(resp.status, 200);
    }
    let seqs: Vec<u64> = w
        .app
        .directory
        .audit
        .borrow()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<_>>());
    let verified = w
        .send(w.as_admin(Method::Get, "/v1/audit/verify"))
        .json_body();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["entries_checked"], 21);
}

#[test]
fn a_key_holds_at_most_five_event_streams_at_once() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"watched"));
    let open = || w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/events")));
    for _ in 0..quire::gate::STREAMS_PER_KEY {
        assert_eq!(open().status, 200);
    }
    let refused = open();
    assert_problem(&refused, 429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    // Another key of the tenant has its own slots.
    let other = Request::new(Method::Get, &format!("/v1/jobs/{job_id}/events"))
        .with_header("authorization", &format!("Bearer {OTHER_TENANT}"));
    assert_eq!(w.send(other).status, 404, "and another tenant sees nothing");
    // Slots of streams that were cut off lapse with their lease.
    w.app.gate.now_ms.set(quire::gate::STREAM_LEASE_MS + 1);
    assert_eq!(open().status, 200);
}
