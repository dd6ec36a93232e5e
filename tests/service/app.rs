//! Application tests: the whole request and job flows over in-memory fakes
//! of D1, R2 and the queue, driven without a socket. Faults are injected
//! through the fakes to prove nothing stored is lost.

use quire::ports::JobStore;
use quire_testkit::world::*;

#[test]
fn an_uploaded_text_document_is_extracted_by_its_job() {
    let w = spawn_app();
    let doc = w.upload("text/plain; charset=utf-8", b"Hello\r\nworld");
    assert_eq!(doc.status, 201);
    let doc_id = doc.json_body()["id"].as_str().unwrap().to_string();
    assert_eq!(
        doc.header("location").unwrap(),
        format!("/v1/documents/{doc_id}")
    );

    let job_id = w.job_id(&doc_id);
    assert_eq!(w.app.queue.sent.borrow().len(), 1);
    assert_eq!(w.job(&job_id)["status"], "queued");
    assert_eq!(w.deliver(&job_id), Disposition::Ack);

    let job = w.job(&job_id);
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["progress"], 100);
    let result = w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/result")));
    assert_eq!(result.status, 200);
    let body = result.json_body();
    assert_eq!(body["text"], "Hello\nworld");
    assert_eq!(body["characters"], 11);
    assert_eq!(body["pages"], 1);
    assert_eq!(body["media_type"], "text/plain");
}

#[test]
fn a_second_delivery_of_a_finished_job_changes_nothing() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"once"));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let before = w.job(&job_id);
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let after = w.job(&job_id);
    assert_eq!(after["attempts"], 1);
    assert_eq!(after["deliveries"], 2);
    assert_eq!(after["finished_at"], before["finished_at"]);
}

#[test]
fn a_delivery_while_another_holds_the_lease_is_postponed_not_run() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"busy"));
    // Simulate a consumer that claimed the job and is still working.
    let lease = w.clock.0.get() + 60_000;
    assert!(block_on(quire::ports::JobStore::claim_job(
        &w.app.meta,
        &job_id,
        w.clock.0.get(),
        lease
    ))
    .unwrap());
    assert!(
        matches!(w.deliver(&job_id), Disposition::Retry { delay_seconds } if delay_seconds >= 60)
    );
    assert_eq!(w.job(&job_id)["attempts"], 1);
    // Once the lease has expired, a delivery takes over and finishes it.
    w.clock.advance(61_000);
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(w.job(&job_id)["status"], "succeeded");
}

#[test]
fn a_transient_storage_failure_is_retried_and_then_succeeds() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"retry me"));
    // Three faults in a row outlast the run's own retries of the call.
    w.app.blobs.inner.faults.fail_next(3);
    let Disposition::Retry { delay_seconds } = w.deliver(&job_id) else {
        panic!("the run should be retried");
    };
    assert!((5..=6).contains(&delay_seconds), "{delay_seconds}");
    let job = w.job(&job_id);
    assert_eq!(job["status"], "queued");
    assert_eq!(job["error"]["code"], "storage_unavailable");
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["attempts"], 2);
    assert!(job["error"].is_null());
}

#[test]
fn a_fault_that_passes_within_a_second_costs_no_run() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"brief fault"));
    let before = w.clock.0.get();
    w.app.blobs.inner.faults.fail_next(2);
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(
        (job["status"].as_str(), job["attempts"].as_u64()),
        (Some("succeeded"), Some(1))
    );
    assert!(
        w.clock.0.get() - before >= 500,
        "waited 100 ms, then 400 ms"
    );
}

#[test]
fn a_run_after_a_failed_one_keeps_the_commands_that_run_finished() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"one two three. four five six.");
    let commands = r#"[{"name":"extract"},{"name":"stats"}]"#;
    // Warm the document's stored extraction, then count one full run's calls.
    let warm = job_with(&w, &doc, commands);
    assert_eq!(w.deliver(&warm), Disposition::Ack);
    let measured = job_with(&w, &doc, commands);
    let calls = w.app.blobs.inner.faults.calls();
    assert_eq!(w.deliver(&measured), Disposition::Ack);
    let full_run = w.app.blobs.inner.faults.calls() - calls;
    // The last call of a run (storing the stats) keeps failing: the run
    // fails after storing the extract result.
    let job_id = job_with(&w, &doc, commands);
    w.app.blobs.inner.faults.fail_after(full_run - 1, 3);
    assert!(matches!(w.deliver(&job_id), Disposition::Retry { .. }));
    assert_eq!(w.job(&job_id)["command_progress"][0]["status"], "succeeded");
    let calls = w.app.blobs.inner.faults.calls();
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let second_run = w.app.blobs.inner.faults.calls() - calls;
    assert_eq!(
        second_run,
        full_run - 1,
        "the extract result is not stored again"
    );
    let job = w.job(&job_id);
    assert_eq!(
        (job["status"].as_str(), job["attempts"].as_u64()),
        (Some("succeeded"), Some(2))
    );
    assert!(result_of(&w, &job_id, "extract")["text"].is_string());
    assert!(result_of(&w, &job_id, "stats").is_object());
}

#[test]
fn a_tenant_past_its_jobs_in_flight_waits_its_turn_and_each_ending_job_sends_the_next() {
    let w = spawn_app_with(&[
        ("TENANT_JOBS_IN_FLIGHT", "2"),
        ("MAX_ACTIVE_JOBS_PER_TENANT", "10"),
    ]);
    let doc = w.upload_id("text/plain", b"a flood of jobs");
    let jobs: Vec<String> = (0..5).map(|_| w.job_id(&doc)).collect();
    // All five are accepted and queued; two are in the queue.
    for id in &jobs {
        assert_eq!(w.job(id)["status"], "queued");
    }
    assert_eq!(w.sent_job_ids(), jobs[..2].to_vec());
    // Each job that ends sends the oldest held-back one, never more than
    // the room it leaves.
    assert_eq!(w.deliver(&jobs[0]), Disposition::Ack);
    assert_eq!(w.sent_job_ids(), jobs[..3].to_vec());
    assert_eq!(
        w.deliver(&jobs[0]),
        Disposition::Ack,
        "a duplicate delivery"
    );
    assert_eq!(w.sent_job_ids().len(), 3, "sends nothing more");
    // A send that is lost leaves the job queued, no longer held: the
    // self-healing pass sends it once it has been still too long.
    w.app.queue.faults.fail_next(1);
    assert_eq!(w.deliver(&jobs[1]), Disposition::Ack);
    assert_eq!(w.sent_job_ids().len(), 3, "the send failed");
    w.clock.advance(901_000);
    let report = block_on(w.app.sweep(w.clock.0.get()));
    assert!(report.jobs_requeued >= 1, "{report:?}");
    assert!(w.sent_job_ids().contains(&jobs[3]));
    assert!(!w.sent_job_ids().contains(&jobs[4]), "still held: no room");
    for id in &jobs[2..4] {
        assert_eq!(w.deliver(id), Disposition::Ack);
    }
    assert!(w.sent_job_ids().contains(&jobs[4]));
    assert_eq!(w.deliver(&jobs[4]), Disposition::Ack);
    for id in &jobs {
        assert_eq!(w.job(id)["status"], "succeeded");
    }
}

#[test]
fn one_tenant_alone_may_not_fill_the_service_wide_job_cap() {
    let config = quire::config::Config::from_lookup(|k| match k {
        "API_KEY_PEPPER" => Some("p".repeat(32)),
        "MASTER_KEYS" => Some("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into()),
        "MAX_ACTIVE_JOBS_PER_TENANT" => Some("500".into()),
        "MAX_ACTIVE_JOBS_TOTAL" => Some("500".into()),
        _ => None,
    });
    let err = config.expect_err("refused");
    assert!(
        err.to_string().contains("MAX_ACTIVE_JOBS_PER_TENANT"),
        "{err}"
    );
}

#[test]
fn a_result_whose_etag_the_client_holds_is_304_without_being_read() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"cache me"));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let route = format!("/v1/jobs/{job_id}/result");
    let first = w.send(w.as_admin(Method::Get, &route));
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_string();
    let reads = w.app.blobs.inner.faults.calls();
    let again = w.send(
        w.as_admin(Method::Get, &route)
            .with_header("if-none-match", &etag),
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(w.app.blobs.inner.faults.calls(), reads, "no R2 read");
    // Another tenant holding the tag learns nothing.
    let other = w.send(
        Request::new(Method::Get, &route)
            .with_header("authorization", &format!("Bearer {OTHER_TENANT}"))
            .with_header("if-none-match", &etag),
    );
    assert_eq!(other.status, 404);
}

#[test]
fn jobs_are_listed_newest_first_by_page_status_and_document_and_per_tenant() {
    let w = spawn_app();
    let (a, b) = (
        w.upload_id("text/plain", b"a"),
        w.upload_id("text/plain", b"b"),
    );
    let jobs: Vec<String> = [&a, &b, &a]
        .iter()
        .map(|d| {
            let id = w.job_id(d);
            w.clock.advance(1);
            id
        })
        .collect();
    assert_eq!(w.deliver(&jobs[0]), Disposition::Ack);
    let list = |q: &str| {
        let resp = w.send(w.as_admin(Method::Get, &format!("/v1/jobs{q}")));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        let ids: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_string())
            .collect();
        (ids, body["next_cursor"].as_str().map(String::from))
    };
    let newest_first: Vec<String> = jobs.iter().rev().cloned().collect();
    assert_eq!(list("").0, newest_first);
    assert_eq!(
        list(&format!("?document_id={a}")).0,
        vec![jobs[2].clone(), jobs[0].clone()]
    );
    assert_eq!(list("?status=succeeded").0, vec![jobs[0].clone()]);
    let (first, cursor) = list("?limit=2");
    assert_eq!(first, newest_first[..2].to_vec());
    let (rest, end) = list(&format!("?limit=2&cursor={}", cursor.unwrap()));
    assert_eq!((rest, end), (newest_first[2..].to_vec(), None));
    let other = w.send(
        Request::new(Method::Get, "/v1/jobs")
            .with_header("authorization", &format!("Bearer {OTHER_TENANT}")),
    );
    assert_eq!(other.json_body()["data"], serde_json::json!([]));
    for bad in [
        "?status=done",
        "?document_id=job_1",
        "?cursor=doc_1",
        "?limit=0",
    ] {
        let resp = w.send(w.as_admin(Method::Get, &format!("/v1/jobs{bad}")));
        assert_eq!(resp.status, 422, "{bad}");
    }
}

#[test]
fn a_job_failing_past_its_attempt_budget_fails_with_a_typed_error() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"doomed"));
    for _ in 0..2 {
        w.app.blobs.inner.faults.fail_next(3);
        assert!(matches!(w.deliver(&job_id), Disposition::Retry { .. }));
    }
    w.app.blobs.inner.faults.fail_next(3);
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "attempts_exhausted");
    assert_eq!(job["attempts"], 3);
}

#[test]
fn a_cut_off_legacy_compound_file_fails_the_job_with_malformed_document() {
    let w = spawn_app();
    let ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 legacy compound file";
    let job_id = w.job_id(&w.upload_id("application/msword", ole));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "malformed_document");
    let result = w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/result")));
    assert_problem(&result, 409, "job_failed");
}

#[test]
fn a_truncated_pdf_fails_the_job_with_malformed_document() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("application/pdf", b"%PDF-1.4 truncated"));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(w.job(&job_id)["error"]["code"], "malformed_document");
}

#[test]
fn malformed_json_fails_the_job_with_malformed_document() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("application/json", b"{\"a\": "));
    w.deliver(&job_id);
    assert_eq!(w.job(&job_id)["error"]["code"], "malformed_document");
}

#[test]
fn a_job_whose_document_was_deleted_fails_with_document_missing() {
    let w = spawn_app();
    let doc_id = w.upload_id("text/plain", b"soon gone");
    let job_id = w.job_id(&doc_id);
    w.app.meta.documents.borrow_mut().clear();
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(w.job(&job_id)["error"]["code"], "document_missing");
}

#[test]
fn the_result_of_an_unfinished_job_is_a_conflict() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"x"));
    let resp = w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/result")));
    assert_problem(&resp, 409, "job_not_finished");
}

#[test]
fn a_queue_outage_leaves_no_job_behind() {
    let w = spawn_app();
    let doc_id = w.upload_id("text/plain", b"x");
    w.app.queue.faults.fail_next(1);
    let resp = w.create_job(&doc_id);
    assert_problem(&resp, 503, "queue_unavailable");
    assert!(resp.header("retry-after").is_some());
    assert!(w.app.meta.jobs.borrow().is_empty());
}

#[test]
fn an_upload_whose_metadata_insert_fails_leaves_no_orphaned_bytes() {
    let w = spawn_app();
    w.app.meta.fail_inserts.set(true);
    let resp = w.upload("text/plain", b"abc");
    assert_problem(&resp, 503, "storage_unavailable");
    assert!(w.app.blobs.inner.objects.borrow().is_empty());
    assert!(w.app.meta.documents.borrow().is_empty());
}

#[test]
fn requests_without_a_valid_key_are_refused() {
    let w = spawn_app();
    let resp = w.send(Request::new(Method::Get, "/v1/documents"));
    assert_problem(&resp, 401, "unauthorized");
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    let wrong = Request::new(Method::Get, "/v1/documents").with_header(
        "authorization",
        "Bearer qk_test_wrong0000000000000000000000000",
    );
    assert_problem(&w.send(wrong), 401, "unauthorized");
}

#[test]
fn a_revoked_key_is_refused_on_the_next_request() {
    let w = spawn_app();
    let created = w.send(
        w.as_admin(Method::Post, "/v1/keys")
            .with_body(r#"{"name":"ci","role":"member"}"#),
    );
    assert_eq!(created.status, 201);
    let body = created.json_body();
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("qk_test_"));
    let id = body["id"].as_str().unwrap();
    let with_new = || {
        Request::new(Method::Get, "/v1/documents")
            .with_header("authorization", &format!("Bearer {secret}"))
    };
    assert_eq!(w.send(with_new()).status, 200);
    let listed = w.send(w.as_admin(Method::Get, "/v1/keys")).json_body();
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );
    assert_eq!(
        w.send(w.as_admin(Method::Delete, &format!("/v1/keys/{id}")))
            .status,
        204
    );
    assert_problem(&w.send(with_new()), 401, "unauthorized");
}

#[test]
fn a_member_key_cannot_manage_keys() {
    let w = spawn_app();
    let body = w
        .send(
            w.as_admin(Method::Post, "/v1/keys")
                .with_body(r#"{"name":"m"}"#),
        )
        .json_body();
    let member = body["secret"].as_str().unwrap();
    let req = Request::new(Method::Get, "/v1/keys")
        .with_header("authorization", &format!("Bearer {member}"));
    assert_problem(&w.send(req), 403, "forbidden");
}

#[test]
fn another_tenants_documents_and_jobs_are_not_found() {
    let w = spawn_app();
    let doc_id = w.upload_id("text/plain", b"private");
    let job_id = w.job_id(&doc_id);
    let as_other = |m, p: &str| {
        Request::new(m, p).with_header("authorization", &format!("Bearer {OTHER_TENANT}"))
    };
    for path in [
        format!("/v1/documents/{doc_id}"),
        format!("/v1/documents/{doc_id}/content"),
        format!("/v1/jobs/{job_id}"),
        format!("/v1/jobs/{job_id}/result"),
    ] {
        assert_problem(&w.send(as_other(Method::Get, &path)), 404, "not_found");
    }
    let delete = as_other(Method::Delete, &format!("/v1/documents/{doc_id}"));
    assert_problem(&w.send(delete), 404, "not_found");
    let list = w.send(as_other(Method::Get, "/v1/documents")).json_body();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let job = format!(r#"{{"document_id":"{doc_id}","commands":[{{"name":"extract"}}]}}"#);
    assert_problem(
        &w.send(as_other(Method::Post, "/v1/jobs").with_body(job)),
        404,
        "not_found",
    );
}

#[test]
fn oversized_empty_and_unsupported_uploads_are_refused_and_not_stored() {
    let w = spawn_app();
    assert_problem(
        &w.upload("text/plain", &[b'a'; 1001]),
        413,
        "payload_too_large",
    );
    assert_problem(&w.upload("text/plain", b""), 422, "empty_body");
    let heic = w.upload("image/heic", b"\0\0\0\x18ftypheic");
    assert_problem(&heic, 415, "unsupported_media_type");
    assert!(heic.json_body()["detail"]
        .as_str()
        .unwrap()
        .contains("image/heic"));
    assert!(w.app.blobs.inner.objects.borrow().is_empty());
    assert!(w.app.meta.documents.borrow().is_empty());
}

#[test]
fn a_multipart_upload_keeps_the_file_name_and_type() {
    let w = spawn_app();
    let body = b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.md\"\r\n\
Content-Type: text/markdown\r\n\r\n# Notes\r\n--b0--\r\n";
    let resp = w.upload("multipart/form-data; boundary=b0", body);
    assert_eq!(resp.status, 201);
    let doc = resp.json_body();
    assert_eq!(doc["filename"], "notes.md");
    assert_eq!(doc["media_type"], "text/markdown");
    assert_eq!(doc["size_bytes"], 7);
    let content = w.send(w.as_admin(Method::Get, doc["content_url"].as_str().unwrap()));
    assert_eq!(content.body, b"# Notes");
    assert_eq!(content.header("content-type"), Some("text/markdown"));
}

#[test]
fn listing_pages_through_every_document_exactly_once() {
    let w = spawn_app();
    let mut ids: Vec<String> = (0..5)
        .map(|i| w.upload_id("text/plain", format!("d{i}").as_bytes()))
        .collect();
    let mut seen = Vec::new();
    let mut path = "/v1/documents?limit=2".to_string();
    loop {
        let page = w.send(w.as_admin(Method::Get, &path)).json_body();
        for d in page["data"].as_array().unwrap() {
            seen.push(d["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/documents?limit=2&cursor={c}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");
    let bad = w.send(w.as_admin(Method::Get, "/v1/documents?limit=0"));
    assert_problem(&bad, 422, "invalid_limit");
}

#[test]
fn deleting_a_document_removes_its_bytes_jobs_and_results() {
    let w = spawn_app();
    let doc_id = w.upload_id("text/plain", b"bye");
    let job_id = w.job_id(&doc_id);
    w.deliver(&job_id);
    // original, cached extraction, extract result
    assert_eq!(w.app.blobs.inner.objects.borrow().len(), 3);
    let resp = w.send(w.as_admin(Method::Delete, &format!("/v1/documents/{doc_id}")));
    assert_eq!(resp.status, 204);
    assert!(w.app.blobs.inner.objects.borrow().is_empty());
    assert!(w.app.meta.jobs.borrow().is_empty());
    let again = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc_id}")));
    assert_problem(&again, 404, "not_found");
}

#[test]
fn unknown_routes_and_wrong_methods_are_problems() {
    let w = spawn_app();
    assert_problem(
        &w.send(Request::new(Method::Get, "/nope")),
        404,
        "not_found",
    );
    let resp = w.send(Request::new(Method::Put, "/v1/documents"));
    assert_problem(&resp, 405, "method_not_allowed");
    assert_eq!(resp.header("allow"), Some("GET, POST"));
    // Test-only routes do not exist unless enabled.
    let hidden = w.send(Request::new(Method::Post, "/__test/jobs/job_1/redeliver"));
    assert_problem(&hidden, 404, "not_found");
}

#[test]
fn readiness_reports_each_dependency() {
    let w = spawn_app();
    let ok = w.send(Request::new(Method::Get, "/ready"));
    assert_eq!(ok.status, 200);
    w.app.blobs.inner.faults.fail_next(1);
    let down = w.send(Request::new(Method::Get, "/ready"));
    assert_eq!(down.status, 503);
    assert_eq!(down.json_body()["checks"]["r2"], "unavailable");
    assert_eq!(down.json_body()["checks"]["d1"], "ok");
}

#[test]
fn one_job_runs_several_commands_each_with_its_own_result() {
    let w = spawn_app();
    let text = b"# Report\n\nContact ann@example.com or +44 20 7946 0958. \
        Quire extracts text from documents. Quire chunks documents for retrieval.";
    let doc = w.upload_id("text/markdown", text);
    let job_id = job_with(
        &w,
        &doc,
        r#"[{"name":"extract"},{"name":"chunk","options":{"max_size":60,"overlap":10}},
            {"name":"stats"},{"name":"detect_pii"},{"name":"redact_pii"},
            {"name":"keywords","options":{"count":3}},{"name":"summarize_extractive","options":{"count":1}}]"#,
    );
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "succeeded");
    let states = job["command_progress"].as_array().unwrap();
    assert_eq!(states.len(), 7);
    assert!(states
        .iter()
        .all(|s| s["status"] == "succeeded" && s["progress"] == 100));

    assert!(result_of(&w, &job_id, "extract")["markdown"]
        .as_str()
        .unwrap()
        .starts_with("# Report"));
    let chunks = result_of(&w, &job_id, "chunk");
    assert!(chunks["count"].as_u64().unwrap() >= 2);
    assert!(chunks["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["characters"].as_u64().unwrap() <= 60));
    assert_eq!(result_of(&w, &job_id, "stats")["language"], "en");
    let pii = result_of(&w, &job_id, "detect_pii");
    assert_eq!(pii["count"], 2);
    let redacted = result_of(&w, &job_id, "redact_pii");
    assert!(redacted["text"]
        .as_str()
        .unwrap()
        .contains("Contact [EMAIL] or [PHONE]."));
    assert_eq!(
        result_of(&w, &job_id, "keywords")["keywords"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let summary = result_of(&w, &job_id, "summarize_extractive");
    assert!(summary["summary"].as_str().unwrap().contains("Quire"));
}

#[test]
fn a_second_job_on_the_same_bytes_reuses_the_cached_extraction() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"cache me if you can");
    let first = w.job_id(&doc);
    w.deliver(&first);
    // Remove the original bytes: only the cache can serve the second job.
    let original = w.app.meta.documents.borrow()[&doc].blob_key.clone();
    w.app.blobs.inner.objects.borrow_mut().remove(&original);
    let second = w.job_id(&doc);
    assert_eq!(w.deliver(&second), Disposition::Ack);
    assert_eq!(w.job(&second)["status"], "succeeded");
    assert_eq!(
        result_of(&w, &second, "extract")["text"],
        "cache me if you can"
    );
}

#[test]
fn a_cancelled_job_does_not_run_and_cannot_be_cancelled_twice() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"never mind"));
    let resp = w.send(w.as_admin(Method::Post, &format!("/v1/jobs/{job_id}/cancel")));
    assert_eq!(resp.status, 202);
    assert_eq!(resp.json_body()["status"], "cancelled");
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "cancelled");
    assert_eq!(job["attempts"], 0);
    let again = w.send(w.as_admin(Method::Post, &format!("/v1/jobs/{job_id}/cancel")));
    assert_problem(&again, 409, "job_finished");
    let result = w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/result")));
    assert_problem(&result, 409, "job_cancelled");
}

#[test]
fn an_llm_command_without_a_provider_is_refused_before_a_job_exists() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"Some text to summarise.");
    let body = format!(
        r#"{{"document_id":"{doc}","commands":[{{"name":"extract"}},{{"name":"summarize"}}]}}"#
    );
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_problem(&resp, 422, "llm_not_configured");
    assert!(w.app.meta.jobs.borrow().is_empty());
}

#[test]
fn invalid_command_options_are_refused_before_a_job_exists() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"x");
    let body = format!(
        r#"{{"document_id":"{doc}","commands":[{{"name":"extract","options":{{"pages":"5-1"}}}}]}}"#
    );
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_problem(&resp, 422, "invalid_options");
    assert!(w.app.meta.jobs.borrow().is_empty());
}

#[test]
fn job_events_are_a_stream_of_the_callers_job_only() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"watch me"));
    let resp = w.send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/events")));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        resp.stream,
        Some(quire::http::StreamSpec::JobEvents {
            tenant_id: "ten_a".into(),
            shard: 0,
            job_id: job_id.clone(),
            // The stream looks at the key again while it runs.
            key_id: Some("key_admin".into()),
            slot: Some(quire::http::StreamSlot {
                key: "key_admin".into(),
                id: match &resp.stream {
                    Some(quire::http::StreamSpec::JobEvents { slot: Some(s), .. }) => s.id.clone(),
                    _ => String::new(),
                },
            }),
        })
    );
    let other = Request::new(Method::Get, &format!("/v1/jobs/{job_id}/events"))
        .with_header("authorization", &format!("Bearer {OTHER_TENANT}"));
    assert_problem(&w.send(other), 404, "not_found");
}

#[test]
fn a_finished_job_with_a_webhook_url_sends_one_signed_webhook_and_retries_failures() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"hook me");
    let job_id = job_with_hook(&w, &doc, "http://127.0.0.1:9/hook");
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    // A duplicate delivery of the finished job creates no second webhook.
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let queued = w.app.queue.webhooks_sent.borrow().clone();
    assert_eq!(queued.len(), 2, "re-queued idempotently");
    assert_eq!(queued[0], queued[1]);
    assert_eq!(w.app.webhooks.deliveries.borrow().len(), 1);

    let sender = ScriptedSender::default();
    sender.script.borrow_mut().push(Ok(500));
    let id = &queued[0].delivery_id;
    let now = w.clock.0.get();
    let first = block_on(process_webhook(&w.app.webhooks, &sender, id, now));
    assert_eq!(first, Disposition::Retry { delay_seconds: 5 });
    let second = block_on(process_webhook(&w.app.webhooks, &sender, id, now + 5_000));
    assert_eq!(second, Disposition::Ack);
    // The duplicate message finds the delivery settled and sends nothing.
    let third = block_on(process_webhook(&w.app.webhooks, &sender, id, now + 6_000));
    assert_eq!(third, Disposition::Ack);
    assert_eq!(sender.received.borrow().len(), 2);

    let (url, headers, body) = sender.received.borrow()[1].clone();
    assert_eq!(url, "http://127.0.0.1:9/hook");
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let secret = w.app.webhooks.secrets.borrow()["ten_a"].clone();
    let ts: u64 = header("webhook-timestamp").parse().unwrap();
    let expected = quire::webhooks::sign(&secret, &header("webhook-id"), ts, &body).unwrap();
    assert_eq!(header("webhook-signature"), expected);
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["type"], "job.succeeded");
    assert_eq!(payload["data"]["id"], job_id.as_str());

    let listed = w
        .send(w.as_admin(Method::Get, &format!("/v1/jobs/{job_id}/webhooks")))
        .json_body();
    assert_eq!(listed["data"][0]["status"], "succeeded");
    assert_eq!(listed["data"][0]["attempts"], 2);
    assert_eq!(listed["data"][0]["last_status_code"], 200);
}

#[test]
fn a_webhook_that_keeps_failing_is_given_up_after_its_attempts() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"x");
    let job_id = job_with_hook(&w, &doc, "http://localhost:9/down");
    w.deliver(&job_id);
    let id = w.app.queue.webhooks_sent.borrow()[0].delivery_id.clone();
    let sender = ScriptedSender::default();
    *sender.script.borrow_mut() = (0..10)
        .map(|_| Err("connection refused".to_string()))
        .collect();
    let mut now = w.clock.0.get();
    let mut outcomes = Vec::new();
    for _ in 0..quire::webhooks::MAX_ATTEMPTS {
        now += 3_600_000;
        outcomes.push(block_on(process_webhook(
            &w.app.webhooks,
            &sender,
            &id,
            now,
        )));
    }
    assert_eq!(outcomes.last(), Some(&Disposition::Ack));
    let d = w.app.webhooks.deliveries.borrow()[&id].clone();
    assert_eq!(d.status, quire::webhooks::DeliveryStatus::Failed);
    assert_eq!(d.attempts, quire::webhooks::MAX_ATTEMPTS);
    assert_eq!(d.last_error.as_deref(), Some("connection refused"));
}

#[test]
fn a_bad_webhook_url_is_refused_before_a_job_exists() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"x");
    let body = format!(
        r#"{{"document_id":"{doc}","commands":[{{"name":"extract"}}],"webhook_url":"http://10.1.2.3/x"}}"#
    );
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_problem(&resp, 422, "invalid_webhook_url");
    assert!(w.app.meta.jobs.borrow().is_empty());
}

#[test]
fn the_webhook_secret_is_stable_and_for_admins_only() {
    let w = spawn_app();
    let a = w
        .send(w.as_admin(Method::Get, "/v1/webhooks/secret"))
        .json_body();
    let b = w
        .send(w.as_admin(Method::Get, "/v1/webhooks/secret"))
        .json_body();
    assert!(a["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(a, b);
}

fn job_with_hook(w: &World, doc_id: &str, url: &str) -> String {
    let body = format!(
        r#"{{"document_id":"{doc_id}","commands":[{{"name":"extract"}}],"webhook_url":"{url}"}}"#
    );
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_eq!(resp.status, 202, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json_body()["webhook_url"], url);
    resp.json_body()["id"].as_str().unwrap().to_string()
}

fn key_with_limit(w: &World, limit: &str) -> String {
    let body = format!(r#"{{"name":"limited","rate_limits":{{"read":"{limit}"}}}}"#);
    let resp = w.send(w.as_admin(Method::Post, "/v1/keys").with_body(body));
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json_body()["rate_limits"]["read"], limit);
    resp.json_body()["secret"].as_str().unwrap().to_string()
}

#[test]
fn a_key_limited_to_100_reads_gets_exactly_100_then_429_with_headers() {
    let w = spawn_app();
    let secret = key_with_limit(&w, "100/100");
    let get = || {
        w.send(
            Request::new(Method::Get, "/v1/documents")
                .with_header("authorization", &format!("Bearer {secret}")),
        )
    };
    let statuses: Vec<u16> = (0..200).map(|_| get().status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 100);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 100);
    let denied = get();
    assert_problem(&denied, 429, "rate_limited");
    assert_eq!(denied.header("retry-after"), Some("1"));
    // The window refills one request per second: 2.5 s later, exactly 2.
    w.app.gate.now_ms.set(2_500);
    let statuses: Vec<u16> = (0..5).map(|_| get().status).collect();
    assert_eq!(statuses, vec![200, 200, 429, 429, 429]);
}

#[test]
fn allowed_responses_carry_ratelimit_headers() {
    let w = spawn_app();
    let resp = w.send(w.as_admin(Method::Get, "/v1/documents"));
    assert_eq!(
        resp.header("ratelimit-policy"),
        Some("\"read\";q=1200;w=60, \"tenant\";q=6000;w=60")
    );
    assert_eq!(
        resp.header("ratelimit"),
        Some("\"read\";r=1199;t=1, \"tenant\";r=5999;t=1")
    );
}

#[test]
fn when_the_limiter_is_down_requests_are_let_through() {
    let w = spawn_app();
    w.app.gate.faults.fail_next(1);
    let resp = w.send(w.as_admin(Method::Get, "/v1/documents"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("ratelimit"), None);
}

#[test]
fn a_tenant_at_its_active_job_cap_gets_429_and_no_job_is_created() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"busy tenant");
    for _ in 0..3 {
        w.job_id(&doc);
    }
    let resp = w.create_job(&doc);
    assert_problem(&resp, 429, "too_many_active_jobs");
    assert_eq!(resp.header("retry-after"), Some("10"));
    assert_eq!(w.app.meta.jobs.borrow().len(), 3);
    // Once one finishes, there is room again.
    let first = w.app.meta.jobs.borrow().keys().next().unwrap().clone();
    w.deliver(&first);
    assert_eq!(w.create_job(&doc).status, 202);
}

#[test]
fn unknown_rate_limit_classes_are_refused() {
    let w = spawn_app();
    let resp = w.send(
        w.as_admin(Method::Post, "/v1/keys")
            .with_body(r#"{"name":"x","rate_limits":{"everything":"1/1"}}"#),
    );
    assert_problem(&resp, 422, "invalid_rate_limits");
}

fn post_doc_with_key(w: &World, key: &str, body: &[u8]) -> Response {
    w.send(
        w.as_admin(Method::Post, "/v1/documents")
            .with_header("content-type", "text/plain")
            .with_header("idempotency-key", key)
            .with_body(body.to_vec()),
    )
}

#[test]
fn a_retried_post_with_the_same_key_is_replayed_byte_for_byte() {
    let w = spawn_app();
    let first = post_doc_with_key(&w, "order-1", b"once only");
    assert_eq!(first.status, 201);
    let again = post_doc_with_key(&w, "order-1", b"once only");
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(w.app.meta.documents.borrow().len(), 1);
}

#[test]
fn the_same_key_with_another_body_is_refused() {
    let w = spawn_app();
    assert_eq!(post_doc_with_key(&w, "k", b"one").status, 201);
    assert_problem(
        &post_doc_with_key(&w, "k", b"two"),
        422,
        "idempotency_key_reused",
    );
}

#[test]
fn a_rejected_request_does_not_consume_its_key() {
    let w = spawn_app();
    let empty = post_doc_with_key(&w, "fix-me", b"");
    assert_problem(&empty, 422, "empty_body");
    // A different body with the same key is fine: nothing was stored.
    assert_eq!(
        post_doc_with_key(&w, "fix-me", b"now with content").status,
        201
    );
}

#[test]
fn without_the_idempotency_store_a_keyed_post_is_refused_not_run() {
    let w = spawn_app();
    // The gate call lets the request through; the key's own begin fails.
    w.app.gate.faults.fail_next(2);
    let resp = post_doc_with_key(&w, "k", b"x");
    assert_problem(&resp, 503, "idempotency_unavailable");
    assert!(w.app.meta.documents.borrow().is_empty());
}

fn post_job_with_key(w: &World, key: &str, doc_id: &str, command: &str) -> Response {
    let body = format!(r#"{{"document_id":"{doc_id}","commands":[{{"name":"{command}"}}]}}"#);
    w.send(
        w.as_admin(Method::Post, "/v1/jobs")
            .with_header("idempotency-key", key)
            .with_body(body),
    )
}

#[test]
fn a_retry_after_a_lost_job_insert_acknowledgement_finishes_that_job() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"retry me");
    // The row is written, then D1 fails to say so and fails the check too.
    w.app.meta.lose_insert_acks.set(true);
    let lost = post_job_with_key(&w, "job-1", &doc, "extract");
    assert_problem(&lost, 503, "storage_unavailable");
    w.app.meta.lose_insert_acks.set(false);
    assert_eq!(w.app.meta.jobs.borrow().len(), 1, "the row was written");
    assert!(w.app.queue.sent.borrow().is_empty(), "and never queued");

    // Another request under the key is refused, not given that job.
    let other = post_job_with_key(&w, "job-1", &doc, "stats");
    assert_problem(&other, 422, "idempotency_key_reused");

    // The client's retry gets that job, now queued: still one job.
    let retry = post_job_with_key(&w, "job-1", &doc, "extract");
    let id = created_id(&retry, 202);
    let jobs = w.app.meta.jobs.borrow().keys().cloned().collect::<Vec<_>>();
    assert_eq!(jobs, vec![id.clone()]);
    let sent = w.sent_job_ids();
    assert_eq!(sent, vec![id.clone()]);
    w.deliver(&id);
    assert_eq!(w.job(&id)["status"], "succeeded");
    // Once it ran, a retry just answers with it: nothing is queued again.
    let late = post_job_with_key(&w, "job-1", &doc, "extract");
    assert_eq!(late.json_body()["id"], id.as_str());
    assert_eq!(w.app.queue.sent.borrow().len(), 1);
}

#[test]
fn a_retry_after_a_lost_document_insert_acknowledgement_stores_one_copy() {
    let w = spawn_app();
    w.app.meta.lose_insert_acks.set(true);
    let lost = post_doc_with_key(&w, "doc-1", b"twice sent, once kept");
    assert_problem(&lost, 503, "storage_unavailable");
    w.app.meta.lose_insert_acks.set(false);
    assert_eq!(w.app.meta.documents.borrow().len(), 1);
    let stored_before = w.app.blobs.inner.objects.borrow().len();

    assert_problem(
        &post_doc_with_key(&w, "doc-1", b"another text entirely"),
        422,
        "idempotency_key_reused",
    );
    let retry = post_doc_with_key(&w, "doc-1", b"twice sent, once kept");
    let id = created_id(&retry, 201);
    assert_eq!(
        w.app
            .meta
            .documents
            .borrow()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec![id.clone()]
    );
    assert_eq!(w.app.blobs.inner.objects.borrow().len(), stored_before);
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{id}/content")));
    assert_eq!(content.body, b"twice sent, once kept");
    // The failed try gave its charge back; the document is charged once.
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    assert_eq!(usage["usage"]["stored_bytes"]["used"], 21);
}

#[test]
fn a_try_that_loses_the_race_for_its_key_is_told_to_retry_not_failed() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"raced");
    // Another request under "k" holds its row, which this one's key
    // check does not see yet; the unique index then refuses its insert.
    let id = w.job_id(&doc);
    let mut other = w.app.meta.jobs.borrow_mut().remove(&id).unwrap();
    other.id = "job_other".into();
    // Rows keep the key as bound to the credential that sent it.
    futures::executor::block_on(quire::ports::JobStore::insert_job(
        &w.app.meta,
        &other,
        Some("key_admin k"),
        10,
    ))
    .unwrap();
    w.app.meta.stale_key_lookups.set(1);
    let resp = post_job_with_key(&w, "k", &doc, "extract");
    assert_problem(&resp, 409, "idempotency_in_flight");
    assert!(w
        .app
        .queue
        .sent
        .borrow()
        .iter()
        .all(|m| m.job_id != "job_other"));
    assert_eq!(w.app.meta.jobs.borrow().len(), 1, "no second job");

    // Documents too: the bytes of the losing try are removed.
    let first = post_doc_with_key(&w, "d", b"same bytes");
    assert_eq!(first.status, 201);
    w.app.gate.forget_all();
    w.app.meta.stale_key_lookups.set(1);
    let objects = w.app.blobs.inner.objects.borrow().len();
    let second = post_doc_with_key(&w, "d", b"same bytes");
    assert_problem(&second, 409, "idempotency_in_flight");
    assert_eq!(w.app.blobs.inner.objects.borrow().len(), objects);
}

#[test]
fn usage_counts_requests_bytes_and_pages_against_budgets() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", &[b'a'; 300]);
    let job = w.job_id(&doc);
    w.deliver(&job);
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    assert_eq!(usage["period"].as_str().unwrap().len(), 7);
    assert_eq!(usage["usage"]["stored_bytes"]["used"], 300);
    assert_eq!(usage["usage"]["stored_bytes"]["remaining"], 4700);
    assert_eq!(usage["usage"]["pages"]["used"], 1);
    assert_eq!(
        usage["usage"]["requests"]["used"], 3,
        "upload, job, this request"
    );
    assert_eq!(usage["usage"]["llm_tokens"]["budget"], Value::Null);
    // Deleting gives the bytes back.
    w.send(w.as_admin(Method::Delete, &format!("/v1/documents/{doc}")));
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    assert_eq!(usage["usage"]["stored_bytes"]["used"], 0);
}

#[test]
fn an_upload_past_the_storage_budget_is_refused_and_not_stored() {
    let w = spawn_app();
    assert_eq!(w.upload("text/plain", &[b'a'; 900]).status, 201);
    let resp = w.upload("text/plain", &[b'a'; 900]);
    assert_eq!(resp.status, 201, "1800 of 5000");
    for _ in 0..3 {
        w.upload("text/plain", &[b'a'; 900]);
    }
    let over = w.upload("text/plain", &[b'a'; 900]);
    assert_problem(&over, 402, "budget_exceeded");
    assert_eq!(w.app.meta.documents.borrow().len(), 5);
}

#[test]
fn jobs_are_refused_once_the_pages_budget_is_used_up() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"p");
    let month = quire::usage::month_of(w.clock.0.get());
    w.app.gate.set_total("ten_a", &month, "pages", 20);
    assert_problem(&w.create_job(&doc), 402, "budget_exceeded");
}

#[test]
fn a_job_retried_after_a_failure_counts_its_pages_once() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"counted once"));
    let month = quire::usage::month_of(w.clock.0.get());
    let pages = |w: &World| w.app.gate.totals_of("ten_a", &month).get("pages").copied();
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(pages(&w), Some(1));
    // As if the worker died after its work but before the job was marked
    // done: the lease expires and another delivery runs it all again.
    {
        let mut jobs = w.app.meta.jobs.borrow_mut();
        let job = jobs.get_mut(&job_id).unwrap();
        job.status = quire::jobs::JobStatus::Running;
        job.lease_until_ms = Some(0);
        job.finished_at_ms = None;
    }
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(w.job(&job_id)["status"], "succeeded");
    assert_eq!(w.job(&job_id)["attempts"], 2, "it did run twice");
    assert_eq!(pages(&w), Some(1), "the second run is not charged again");
}

#[test]
fn a_tenant_on_the_free_plan_gets_its_plan_limits_and_budgets() {
    let w = spawn_app();
    let as_other = |m, p: &str| {
        Request::new(m, p).with_header("authorization", &format!("Bearer {FREE_TENANT}"))
    };
    assert_eq!(w.send(as_other(Method::Get, "/v1/documents")).status, 200);
    assert_eq!(w.send(as_other(Method::Get, "/v1/documents")).status, 200);
    assert_problem(
        &w.send(as_other(Method::Get, "/v1/documents")),
        429,
        "rate_limited",
    );
    let upload = as_other(Method::Post, "/v1/documents")
        .with_header("content-type", "text/plain")
        .with_body(b"more than ten bytes".to_vec());
    assert_problem(&w.send(upload), 402, "budget_exceeded");
    // The standard-plan tenant is unaffected.
    assert_eq!(w.send(w.as_admin(Method::Get, "/v1/documents")).status, 200);
}

#[test]
fn uploads_are_scanned_and_refusals_name_the_reason() {
    let w = spawn_app();
    let png = w.upload("text/plain", b"\x89PNG\r\n\x1a\n0000");
    assert_problem(&png, 415, "content_type_mismatch");
    let detail = png.json_body()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("text/plain") && detail.contains("image/png"),
        "{detail}"
    );
    let script = w.upload("text/plain", b"#!/bin/sh\necho hi");
    assert_problem(&script, 415, "content_type_mismatch");
    let eicar = w.upload(
        "text/plain",
        b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    );
    assert_problem(&eicar, 422, "malware_detected");
    assert!(
        w.app.blobs.inner.objects.borrow().is_empty(),
        "nothing refused is stored"
    );

    let pdf = w.upload(
        "application/pdf",
        b"%PDF-1.4 /OpenAction << /S /JavaScript >>",
    );
    assert_eq!(pdf.status, 201);
    assert_eq!(pdf.json_body()["scan"]["sniffed_type"], "application/pdf");
    assert_eq!(pdf.json_body()["scan"]["flags"][0], "pdf_javascript");
}

#[test]
fn content_supports_ranges_etags_and_conditional_requests() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"0123456789");
    let path = format!("/v1/documents/{doc}/content");
    let full = w.send(w.as_admin(Method::Get, &path));
    let etag = full.header("etag").unwrap().to_string();
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    let part = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=2-4"),
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"234");
    assert_eq!(part.header("content-range"), Some("bytes 2-4/10"));
    let tail = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=-3"),
    );
    assert_eq!(tail.body, b"789");
    let same = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("if-none-match", &etag),
    );
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());
    let stale = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=0-1")
            .with_header("if-range", "\"other\""),
    );
    assert_eq!(
        stale.status, 200,
        "If-Range mismatch sends the whole document"
    );
    let outside = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=50-"),
    );
    assert_problem(&outside, 416, "range_not_satisfiable");
    assert_eq!(outside.header("content-range"), Some("bytes */10"));
}

#[test]
fn large_downloads_stream_and_ranges_decrypt_only_their_segments() {
    let w = spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "5000000"),
        ("USAGE_BUDGETS", "requests=100000,stored_bytes=100000000"),
    ]);
    let text: Vec<u8> = (0..3_000_000u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz \n"[(i % 28) as usize])
        .collect();
    let doc = w.upload_id("text/plain", &text);
    let path = format!("/v1/documents/{doc}/content");
    let before = w.app.blobs.inner.bytes_read.get();
    let part = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=1000000-1000099"),
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &text[1_000_000..1_000_100]);
    assert_eq!(
        part.header("content-range"),
        Some("bytes 1000000-1000099/3000000")
    );
    let read = w.app.blobs.inner.bytes_read.get() - before;
    // The header and the one or two segments the range falls in, not 3 MB.
    assert!(read <= 2 * (65_536 + 16) + 400, "read {read} bytes");

    let full = w.send(w.as_admin(Method::Get, &path));
    assert_eq!(full.status, 200);
    assert!(
        matches!(
            full.stream,
            Some(quire::http::StreamSpec::Blob { len: 3_000_000, .. })
        ),
        "streamed, not buffered"
    );
    assert_eq!(full.header("content-length"), Some("3000000"));
    assert_eq!(full.body, text, "every chunk decrypts to the original");
    // A range across segment boundaries near the end.
    let tail = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", "bytes=-70000"),
    );
    assert_eq!(tail.body, &text[3_000_000 - 70_000..]);
}

#[test]
fn a_document_whose_object_vanished_is_flagged_and_answers_503() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"here today");
    let key = format!("tenants/ten_a/documents/{doc}/original");
    let object = w.app.blobs.inner.objects.borrow_mut().remove(&key).unwrap();
    let report = block_on(w.app.sweep(w.clock.0.get() + 1000));
    assert_eq!((report.objects_verified, report.objects_missing), (1, 1));
    let meta = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}")));
    assert_eq!(meta.json_body()["content_missing"], true);
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}/content")));
    assert_problem(&content, 503, "content_missing");
    // Restored (say, from a bucket backup): the next check clears the flag.
    w.app.blobs.inner.objects.borrow_mut().insert(key, object);
    let report = block_on(w.app.sweep(w.clock.0.get() + 2000));
    assert_eq!(report.objects_missing, 0);
    let meta = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}")));
    assert!(meta.json_body().get("content_missing").is_none());
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}/content")));
    assert_eq!(content.body, b"here today");

    // Found missing by a read before any sweep: flagged at once.
    let other = w.upload_id("text/plain", b"gone soon");
    let key = format!("tenants/ten_a/documents/{other}/original");
    w.app.blobs.inner.objects.borrow_mut().remove(&key);
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{other}/content")));
    assert_problem(&content, 503, "content_missing");
    let meta = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{other}")));
    assert_eq!(meta.json_body()["content_missing"], true);
}

#[test]
fn documents_and_results_are_stored_encrypted() {
    let w = spawn_app();
    let secret = b"The launch code is 0000 and nobody may know it.";
    let doc = w.upload_id("text/plain", secret);
    let job = w.job_id(&doc);
    w.deliver(&job);
    let objects = w.app.blobs.inner.objects.borrow();
    assert_eq!(objects.len(), 3, "original, extraction, result");
    for (key, raw) in objects.iter() {
        assert!(raw.starts_with(b"QENC1"), "{key} is not encrypted");
        assert!(
            !raw.windows(11).any(|x| x == b"launch code"),
            "{key} leaks plaintext"
        );
    }
    drop(objects);
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}/content")));
    assert_eq!(content.body, secret);
    assert_eq!(
        result_of(&w, &job, "extract")["text"],
        std::str::from_utf8(secret).unwrap()
    );
}

#[test]
fn the_sweep_deletes_expired_documents_and_orphaned_objects() {
    let w = spawn_app();
    let keep = w.upload_id("text/plain", b"keep me");
    let resp = w.send(
        w.as_admin(Method::Post, "/v1/documents?expires_in=60")
            .with_header("content-type", "text/plain")
            .with_body(b"short-lived".to_vec()),
    );
    assert_eq!(resp.status, 201);
    assert!(resp.json_body()["expires_at"].is_string());
    let gone = resp.json_body()["id"].as_str().unwrap().to_string();
    let job = w.job_id(&gone);
    w.deliver(&job);
    // An object nothing refers to, as a crashed upload would leave.
    block_on(quire::ports::BlobStore::put(
        &w.app.blobs.inner,
        "tenants/ten_a/documents/doc_orphan/original",
        b"x".to_vec(),
        "text/plain",
    ))
    .unwrap();

    let now = w.clock.0.get() + 2 * 60 * 60 * 1000;
    let report = block_on(w.app.sweep(now));
    assert_eq!(report.expired_deleted, 1);
    assert_eq!(report.orphans_deleted, 1);
    assert_eq!(report.errors, 0);
    let objects = w.app.blobs.inner.objects.borrow();
    assert!(objects
        .keys()
        .all(|k| !k.contains(&gone) && !k.contains("doc_orphan") && !k.contains(&job)));
    assert!(objects.keys().any(|k| k.contains(&keep)));
    drop(objects);
    assert!(w.app.meta.jobs.borrow().is_empty());
    assert_problem(
        &w.send(w.as_admin(Method::Get, &format!("/v1/documents/{gone}"))),
        404,
        "not_found",
    );
}

#[test]
fn the_sweep_leaves_a_moving_tenants_expired_documents_for_after_the_move() {
    // Deleted on the shard being left during the copy, a document would
    // come back on the new shard without its object.
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    let resp = w.send(
        w.as_admin(Method::Post, "/v1/documents?expires_in=60")
            .with_header("content-type", "text/plain")
            .with_body(b"short-lived".to_vec()),
    );
    assert_eq!(resp.status, 201);
    let id = resp.json_body()["id"].as_str().unwrap().to_string();
    let moving = |since: Option<u64>| {
        w.app
            .meta
            .tenants
            .borrow_mut()
            .get_mut("ten_a")
            .unwrap()
            .moving_since_ms = since;
    };
    moving(Some(1));
    let later = w.clock.0.get() + 2 * 60 * 60 * 1000;
    let report = block_on(w.app.sweep(later));
    assert_eq!(report.expired_deleted, 0);
    assert!(w.app.meta.documents.borrow().values().any(|d| d.id == id));
    // The move over, the next sweep deletes it.
    moving(None);
    let report = block_on(w.app.sweep(later));
    assert_eq!(report.expired_deleted, 1);
    assert!(w.app.meta.documents.borrow().values().all(|d| d.id != id));
}

#[test]
fn a_fresh_unreferenced_object_is_left_alone() {
    let w = spawn_app();
    w.app.blobs.inner.now_ms.set(1_000);
    block_on(quire::ports::BlobStore::put(
        &w.app.blobs.inner,
        "tenants/ten_a/documents/doc_uploading/original",
        b"x".to_vec(),
        "text/plain",
    ))
    .unwrap();
    let report = block_on(w.app.sweep(1_000 + 60_000));
    assert_eq!(
        report.orphans_deleted, 0,
        "an upload in progress writes R2 before D1"
    );
}

fn as_operator(method: Method, path: &str) -> Request {
    Request::new(method, path).with_header("authorization", &format!("Bearer {OPERATOR}"))
}

#[test]
fn the_operator_provisions_a_tenant_whose_owner_key_works_until_suspension() {
    let w = spawn_app();
    let created = w.send(
        as_operator(Method::Post, "/v1/tenants").with_body(r#"{"name":"Acme","plan":"pro"}"#),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let body = created.json_body();
    let tenant = body["tenant"]["id"].as_str().unwrap().to_string();
    let secret = body["owner_key"]["secret"].as_str().unwrap().to_string();
    let as_acme =
        |m, p: &str| Request::new(m, p).with_header("authorization", &format!("Bearer {secret}"));
    assert_eq!(w.send(as_acme(Method::Get, "/v1/documents")).status, 200);
    assert_eq!(
        w.send(as_acme(Method::Get, "/v1/usage")).json_body()["plan"],
        "pro"
    );

    let suspend = as_operator(Method::Patch, &format!("/v1/tenants/{tenant}"))
        .with_body(r#"{"status":"suspended"}"#);
    assert_eq!(w.send(suspend).json_body()["status"], "suspended");
    assert_problem(
        &w.send(as_acme(Method::Get, "/v1/documents")),
        403,
        "tenant_suspended",
    );
    let resume = as_operator(Method::Patch, &format!("/v1/tenants/{tenant}"))
        .with_body(r#"{"status":"active"}"#);
    assert_eq!(w.send(resume).status, 200);
    assert_eq!(w.send(as_acme(Method::Get, "/v1/documents")).status, 200);
    let listed = w.send(as_operator(Method::Get, "/v1/tenants")).json_body();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
}

#[test]
fn tenant_routes_refuse_tenant_keys_and_strangers() {
    let w = spawn_app();
    assert_problem(
        &w.send(w.as_admin(Method::Get, "/v1/tenants")),
        401,
        "unauthorized",
    );
    assert_problem(
        &w.send(Request::new(Method::Get, "/v1/tenants")),
        401,
        "unauthorized",
    );
    let unknown = as_operator(Method::Patch, "/v1/tenants/ten_nope").with_body(r#"{"plan":"x"}"#);
    assert_problem(&w.send(unknown), 404, "not_found");
}

#[test]
fn production_responses_demand_https() {
    let mut w = spawn_app();
    assert_eq!(
        w.send(Request::new(Method::Get, "/health"))
            .header("strict-transport-security"),
        None
    );
    w.app.config.environment = "production".into();
    let resp = w.send(Request::new(Method::Get, "/health"));
    assert!(resp
        .header("strict-transport-security")
        .unwrap()
        .starts_with("max-age="));
}

#[test]
fn a_webhook_message_that_finds_the_delivery_leased_comes_back_later() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"x");
    let job_id = job_with_hook(&w, &doc, "http://localhost:9/hook");
    w.deliver(&job_id);
    let id = w.app.queue.webhooks_sent.borrow()[0].delivery_id.clone();
    let now = w.clock.0.get();
    // An attempt claimed the delivery and then vanished (isolate died).
    let claimed =
        quire::ports::WebhookStore::claim_delivery(&w.app.webhooks, &id, now, now + 60_000);
    assert!(block_on(claimed).unwrap());
    let sender = ScriptedSender::default();
    let outcome = block_on(process_webhook(&w.app.webhooks, &sender, &id, now + 1_000));
    assert_eq!(outcome, Disposition::Retry { delay_seconds: 61 });
    // After the lease, the retried message sends it.
    let outcome = block_on(process_webhook(&w.app.webhooks, &sender, &id, now + 62_000));
    assert_eq!(outcome, Disposition::Ack);
    assert_eq!(sender.received.borrow().len(), 1);
}

#[test]
fn rewrapping_moves_every_object_to_the_new_master_key_so_the_old_one_can_go() {
    use quire::crypto::{key_id_of, MasterKeys};
    let mut w = spawn_app();
    let doc = w.upload_id("text/plain", b"secret under k1");
    let job = w.job_id(&doc);
    w.deliver(&job);
    let k1 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let k2 = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    // Rotation: k2 becomes active, k1 stays to read what it wrapped.
    w.app.blobs.keys = MasterKeys::parse(&format!("k2:{k2},k1:{k1}"), None).unwrap();
    let ids = |w: &World| -> Vec<String> {
        w.app
            .blobs
            .inner
            .objects
            .borrow()
            .values()
            .map(|b| key_id_of(b).unwrap_or("plain").to_string())
            .collect()
    };
    assert!(ids(&w).iter().all(|id| id == "k1"));
    let operator = |body: &str| {
        w.send(
            Request::new(Method::Post, "/v1/admin/rewrap")
                .with_header("authorization", &format!("Bearer {OPERATOR}"))
                .with_body(body.to_string()),
        )
    };
    assert_problem(
        &w.send(w.as_admin(Method::Post, "/v1/admin/rewrap")),
        401,
        "unauthorized",
    );
    let first = operator(r#"{"limit": 1}"#).json_body();
    assert_eq!(
        (first["checked"].as_u64(), first["rewrapped"].as_u64()),
        (Some(1), Some(1))
    );
    let rest = operator(&format!(r#"{{"cursor": {}}}"#, first["next_cursor"])).json_body();
    assert!(rest["rewrapped"].as_u64().unwrap() >= 2, "{rest}");
    assert!(rest["next_cursor"].is_null());
    assert!(ids(&w).iter().all(|id| id == "k2"), "{:?}", ids(&w));
    let again = operator("").json_body();
    assert_eq!(again["rewrapped"], 0);
    // k1 retired: everything still reads.
    w.app.blobs.keys = MasterKeys::parse(&format!("k2:{k2}"), None).unwrap();
    let content = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}/content")));
    assert_eq!(content.body, b"secret under k1");
    assert_eq!(result_of(&w, &job, "extract")["text"], "secret under k1");
}

#[test]
fn the_sweep_requeues_jobs_whose_message_was_lost_or_whose_worker_died() {
    let w = spawn_app();
    // Lost message: the job sits queued.
    let lost = w.job_id(&w.upload_id("text/plain", b"lost message"));
    w.app.queue.sent.borrow_mut().clear();
    // Dead worker: claimed, lease running out, never finished.
    let dead = w.job_id(&w.upload_id("text/plain", b"dead worker"));
    let now = w.clock.0.get();
    assert!(block_on(w.app.meta.claim_job(&dead, now, now + 1000)).unwrap());
    w.clock.advance(16 * 60 * 1000);
    let report = block_on(w.app.sweep(w.clock.0.get()));
    assert_eq!(report.jobs_requeued, 2, "{report:?}");
    let sent = w.sent_job_ids();
    assert!(sent.contains(&lost) && sent.contains(&dead));
    for id in [&lost, &dead] {
        assert_eq!(w.deliver(id), Disposition::Ack);
        assert_eq!(w.job(id)["status"], "succeeded");
    }
    assert_eq!(w.job(&dead)["attempts"], 2);
    // A second sweep finds nothing to do.
    let again = block_on(w.app.sweep(w.clock.0.get()));
    assert_eq!((again.jobs_requeued, again.jobs_failed), (0, 0));
}

#[test]
fn the_sweep_fails_a_stalled_job_that_used_up_its_attempts() {
    let w = spawn_app();
    let id = w.job_id(&w.upload_id("text/plain", b"keeps dying"));
    for _ in 0..3 {
        let now = w.clock.0.get();
        assert!(block_on(w.app.meta.claim_job(&id, now, now + 10)).unwrap());
        w.clock.advance(20);
    }
    let report = block_on(w.app.sweep(w.clock.0.get()));
    assert_eq!(report.jobs_failed, 1, "{report:?}");
    let job = w.job(&id);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "attempts_exhausted");
}

#[test]
fn a_dead_letter_fails_its_job_with_the_reason_and_replays_once() {
    let w = spawn_app();
    let id = w.job_id(&w.upload_id("text/plain", b"dead lettered"));
    let body = format!(r#"{{"job_id":"{id}"}}"#);
    block_on(w.app.take_dead_letter("msg-1", &body, 11, w.clock.0.get())).unwrap();
    // The queue may hand the same dead letter over twice: kept once.
    block_on(w.app.take_dead_letter("msg-1", &body, 11, w.clock.0.get())).unwrap();
    let job = w.job(&id);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "dead_lettered");
    assert!(job["error"]["message"]
        .as_str()
        .unwrap()
        .contains("11 deliveries"));
    let operator = |method: Method, path: &str| {
        w.send(
            Request::new(method, path).with_header("authorization", &format!("Bearer {OPERATOR}")),
        )
    };
    let list = operator(Method::Get, "/v1/admin/dead-letters").json_body();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["ref_id"], id.as_str());
    assert_eq!(list["data"][0]["tenant_id"], "ten_a");
    assert_problem(
        &w.send(w.as_admin(Method::Get, "/v1/admin/dead-letters")),
        401,
        "unauthorized",
    );

    w.app.queue.sent.borrow_mut().clear();
    let replay = operator(Method::Post, "/v1/admin/dead-letters/msg-1/replay");
    assert_eq!(replay.status, 202);
    assert_eq!(w.app.queue.sent.borrow().len(), 1);
    assert_eq!(w.job(&id)["status"], "queued");
    let again = operator(Method::Post, "/v1/admin/dead-letters/msg-1/replay");
    assert_eq!(again.status, 200);
    assert_eq!(again.json_body()["replayed"], false);
    assert_eq!(w.app.queue.sent.borrow().len(), 1, "replayed once only");
    assert_eq!(w.deliver(&id), Disposition::Ack);
    assert_eq!(w.job(&id)["status"], "succeeded");
    assert_problem(
        &operator(Method::Post, "/v1/admin/dead-letters/nope/replay"),
        404,
        "not_found",
    );
    assert!(block_on(w.app.take_dead_letter("msg-2", "not json", 1, 0)).is_err());
}

#[test]
fn usage_is_reported_per_day_and_per_key_and_as_csv() {
    let w = spawn_app();
    let member = w.send(
        w.as_admin(Method::Post, "/v1/keys")
            .with_body(r#"{"name":"m","role":"member"}"#),
    );
    let secret = member.json_body()["secret"].as_str().unwrap().to_string();
    let member_id = member.json_body()["id"].as_str().unwrap().to_string();
    let doc = w.upload_id("text/plain", b"counted");
    w.deliver(&w.job_id(&doc));
    for _ in 0..3 {
        w.send(
            Request::new(Method::Get, "/v1/documents")
                .with_header("authorization", &format!("Bearer {secret}")),
        );
    }
    let report = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    let today = quire::usage::day_of(w.clock.0.get());
    assert_eq!(report["usage"]["documents"]["used"], 1);
    assert_eq!(report["usage"]["jobs"]["used"], 1);
    assert_eq!(report["by_key"][&member_id]["requests"], 3);
    assert_eq!(report["by_key"]["key_admin"]["documents"], 1);
    assert_eq!(
        report["by_key"]["key_admin"]["pages"], 1,
        "the job's pages go to its creator"
    );
    assert!(report["daily"][&today]["requests"].as_i64().unwrap() >= 7);
    let cost = report["usage"]["requests"]["estimated_cost_usd"]
        .as_f64()
        .unwrap();
    assert!(cost > 0.0);

    let csv = w.send(w.as_admin(Method::Get, "/v1/usage?format=csv"));
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8(csv.body.clone()).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("day,key,metric,amount,estimated_cost_usd")
    );
    assert!(
        text.contains(&format!("{today},{member_id},requests,3,0.000002")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{today},key_admin,pages,1,0.001000")),
        "{text}"
    );
    assert_problem(
        &w.send(w.as_admin(Method::Get, "/v1/usage?period=last")),
        422,
        "invalid_period",
    );
    let empty = w
        .send(w.as_admin(Method::Get, "/v1/usage?period=2020-01"))
        .json_body();
    assert_eq!(empty["usage"]["requests"]["used"], 0);
}

#[test]
fn a_result_of_a_command_the_job_did_not_run_is_404_and_of_no_command_422() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("text/plain", b"Hello"));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let get = |command: &str| {
        w.send(w.as_admin(
            Method::Get,
            &format!("/v1/jobs/{job_id}/result?command={command}"),
        ))
    };
    assert_eq!(get("extract").status, 200);
    let not_run = get("summarize_extractive");
    assert_eq!(not_run.status, 404);
    assert_eq!(not_run.json_body()["code"], "not_found");
    let unknown = get("teleport");
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json_body()["code"], "invalid_command");
}

/// A plain grey 120 × 110 PNG: what the OCR engine is handed is the test.
const GREY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x6e, 0x08, 0x00, 0x00, 0x00, 0x00, 0xc9, 0x80, 0x88,
    0x88, 0x00, 0x00, 0x00, 0x49, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0xed, 0xcd, 0x31, 0x01, 0x00,
    0x00, 0x0c, 0x02, 0x20, 0xfb, 0x27, 0x33, 0x96, 0x0d, 0xf6, 0xee, 0x81, 0x02, 0xa4, 0x4f, 0x22,
    0x16, 0x8b, 0xc5, 0x62, 0xb1, 0x58, 0x2c, 0x16, 0x8b, 0xc5, 0x62, 0xb1, 0x58, 0x2c, 0x16, 0x8b,
    0xc5, 0x62, 0xb1, 0x58, 0x2c, 0x16, 0x8b, 0xc5, 0x62, 0xb1, 0x58, 0x2c, 0x16, 0x8b, 0xc5, 0x62,
    0xb1, 0x58, 0x2c, 0x16, 0x8b, 0xc5, 0x62, 0xb1, 0x58, 0x2c, 0x16, 0x8b, 0x6f, 0x03, 0x4b, 0x2c,
    0x4a, 0xd9, 0xc3, 0x7c, 0x17, 0xba, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
    0x60, 0x82,
];

fn ocr_word(text: &str, left: i32, top: i32, line_end: bool) -> quire::extract::ocr::OcrWord {
    quire::extract::ocr::OcrWord {
        text: text.into(),
        confidence: 0.875,
        left,
        top,
        right: left + 60,
        bottom: top + 20,
        line_end,
    }
}

#[test]
fn an_image_is_decoded_for_the_ocr_engine_and_its_words_become_marked_paragraphs() {
    let mut w = spawn_app();
    w.ocr.words = vec![
        ocr_word("Main", 10, 10, false),
        ocr_word("game", 80, 10, true),
        ocr_word("Creatures", 10, 200, true),
    ];
    let job_id = w.job_id(&w.upload_id("image/png", GREY_PNG));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let result = result_of(&w, &job_id, "extract");
    assert_eq!(result["text"], "Main game\n\nCreatures");
    assert_eq!(result["elements"][0]["ocr_confidence"], 0.875);
    assert_eq!(result["elements"][1]["page"], 1);
    // The engine got the decoded picture, not the file.
    let seen = w.ocr.seen.borrow();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0], (120, 110));
}

#[test]
fn an_image_the_engine_reads_as_nothing_says_so_on_its_page() {
    let w = spawn_app();
    let job_id = w.job_id(&w.upload_id("image/png", GREY_PNG));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let result = result_of(&w, &job_id, "extract");
    assert_eq!(result["text"], "");
    assert_eq!(
        result["warnings"][0],
        "ocr_no_text: page 1: the OCR engine read no text"
    );
}

#[test]
fn a_scanned_pdfs_image_pages_are_read_by_ocr_in_page_order() {
    let mut w = spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "100000"),
        ("USAGE_BUDGETS", "stored_bytes=100000"),
    ]);
    w.ocr.words = vec![
        ocr_word("Scanned", 10, 10, false),
        ocr_word("words", 80, 10, true),
    ];
    let pdf = include_bytes!("../../crates/extract/tests/fixtures/scanned.pdf");
    let job_id = w.job_id(&w.upload_id("application/pdf", pdf));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let result = result_of(&w, &job_id, "extract");
    // Page 1's text layer, then each scanned page's words on its page.
    assert_eq!(
        result["text"],
        "A cover page with a text layer.\n\nScanned words\n\nScanned words"
    );
    let elements = result["elements"].as_array().unwrap();
    let read: Vec<(u64, f64)> = elements
        .iter()
        .filter(|e| e["ocr_confidence"].is_number())
        .map(|e| {
            (
                e["page"].as_u64().unwrap(),
                e["ocr_confidence"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(read, vec![(2, 0.875), (3, 0.875)]);
    assert!(elements[0]["ocr_confidence"].is_null());
    assert_eq!(result["warnings"], serde_json::json!([]));
    // Each page image decoded upright (page 3 is stored sideways).
    assert_eq!(*w.ocr.seen.borrow(), vec![(1700, 700), (1700, 700)]);
}

fn ocr_word_at(text: &str, confidence: f32) -> quire::extract::ocr::OcrWord {
    quire::extract::ocr::OcrWord {
        confidence,
        ..ocr_word(text, 10, 10, true)
    }
}

fn create_job_with(w: &World, doc_id: &str, commands: &str) -> Response {
    let body = format!(r#"{{"document_id":"{doc_id}","commands":{commands}}}"#);
    w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body))
}

#[test]
fn ocr_languages_need_an_installed_model_and_the_most_confident_reading_wins() {
    let mut w = spawn_app();
    w.ocr.words = vec![ocr_word_at("Strabe", 0.41)];
    w.ocr
        .by_language
        .insert("deu".into(), vec![ocr_word_at("Straße", 0.93)]);
    let doc = w.upload_id("image/png", GREY_PNG);
    let german = r#"[{"name":"extract","options":{"languages":["deu","eng"]}}]"#;
    // Not installed yet: refused before any job exists, naming the fix.
    let refused = create_job_with(&w, &doc, german);
    assert_problem(&refused, 422, "unsupported_language");
    assert!(refused.json_body()["detail"]
        .as_str()
        .unwrap()
        .contains("ocr:models -- deu"));
    // Malformed codes, repeats and empty lists are 422 too.
    for bad in [
        r#"["german"]"#,
        r#"["deu","deu"]"#,
        "[]",
        r#"["eng","fra","deu","ita"]"#,
    ] {
        let commands = format!(r#"[{{"name":"extract","options":{{"languages":{bad}}}}}]"#);
        assert_eq!(create_job_with(&w, &doc, &commands).status, 422, "{bad}");
    }
    // The operator installs the model (a tenant key cannot).
    let model = vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4];
    let put = |req: Request| w.send(req.with_body(model.clone()));
    let tenant = put(w.as_admin(Method::Put, "/v1/admin/ocr-models/deu"));
    assert!(matches!(tenant.status, 401 | 403), "{}", tenant.status);
    assert_eq!(
        put(as_operator(Method::Put, "/v1/admin/ocr-models/deu")).status,
        201
    );
    let not_gzip = w.send(as_operator(Method::Put, "/v1/admin/ocr-models/fra").with_body("hello"));
    assert_problem(&not_gzip, 422, "invalid_ocr_model");
    let listed = w
        .send(as_operator(Method::Get, "/v1/admin/ocr-models"))
        .json_body();
    assert_eq!(listed["languages"], serde_json::json!(["eng", "deu"]));
    // Now the job runs; each language reads the page, the surer one wins.
    let resp = create_job_with(&w, &doc, german);
    assert_eq!(resp.status, 202, "{}", String::from_utf8_lossy(&resp.body));
    let job_id = resp.json_body()["id"].as_str().unwrap().to_string();
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    assert_eq!(result_of(&w, &job_id, "extract")["text"], "Straße");
    assert_eq!(
        *w.ocr.models.borrow(),
        vec![("deu".to_string(), model.len()), ("eng".to_string(), 0)]
    );
    // English alone is another extraction, not the German one cached.
    let english = w.job_id(&doc);
    assert_eq!(w.deliver(&english), Disposition::Ack);
    assert_eq!(result_of(&w, &english, "extract")["text"], "Strabe");
}

#[test]
fn a_job_of_a_format_without_images_does_not_load_ocr_models() {
    let w = spawn_app();
    let model = vec![0x1f, 0x8b, 8, 0];
    let put = as_operator(Method::Put, "/v1/admin/ocr-models/deu").with_body(model);
    assert_eq!(w.send(put).status, 201);
    let doc = w.upload_id("text/plain", b"Guten Tag.");
    let png = w.upload_id("image/png", GREY_PNG);
    let german = r#"[{"name":"extract","options":{"languages":["deu"]}}]"#;
    let text_job = job_with(&w, &doc, german);
    let image_job = job_with(&w, &png, german);
    // The model is gone before the jobs run: the text needs none and
    // succeeds; the image cannot be read in German and fails typed.
    block_on(quire::ports::BlobStore::delete(
        &w.app.blobs,
        &quire::jobs::ocr_model_key("deu"),
    ))
    .unwrap();
    assert_eq!(w.deliver(&text_job), Disposition::Ack);
    assert_eq!(w.job(&text_job)["status"], "succeeded");
    assert_eq!(w.deliver(&image_job), Disposition::Ack);
    let failed = w.job(&image_job);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "unsupported_language");
}

/// An OCR engine during whose reading the client cancels the job.
struct CancelsWhileReading<'a> {
    meta: &'a quire_testkit::MemMeta,
    job_id: String,
}

impl quire::ports::Ocr for CancelsWhileReading<'_> {
    fn read<'b>(
        &'b self,
        _image: &'b quire::ports::ocr::Raster,
        _model: &'b quire::ports::ocr::OcrModel,
    ) -> futures::future::LocalBoxFuture<'b, Result<Vec<quire::ports::ocr::OcrWord>, String>> {
        Box::pin(async move {
            let cancelled = JobStore::cancel_job(self.meta, "ten_a", &self.job_id, 1).await;
            assert_eq!(cancelled, Ok(true));
            Ok(vec![])
        })
    }
}

#[test]
fn a_job_cancelled_while_it_runs_stops_at_its_next_progress_write_and_stores_nothing_more() {
    let w = spawn_app();
    let doc = w.upload_id("image/png", GREY_PNG);
    let job_id = job_with(&w, &doc, r#"[{"name":"extract"},{"name":"stats"}]"#);
    let ocr = CancelsWhileReading {
        meta: &w.app.meta,
        job_id: job_id.clone(),
    };
    assert_eq!(w.deliver_with_ocr(&job_id, &ocr), Disposition::Ack);
    let job = w.job(&job_id);
    assert_eq!(job["status"], "cancelled", "{job}");
    assert!(job["resources"].is_null(), "it never completed");
    let results = format!("tenants/ten_a/jobs/{job_id}/results/");
    let stored = w.app.blobs.inner.objects.borrow();
    assert!(
        !stored.keys().any(|k| k.starts_with(&results)),
        "no result stored"
    );
}

#[test]
fn a_tenant_moving_between_shards_reads_but_its_writes_get_503_until_the_move_ends() {
    use quire::ports::ShardStore;
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    let doc = w.upload_id("text/plain", b"kept through the move");
    // The freeze, and the auth epoch bumped as the move does: cached
    // credentials are read again, with it.
    assert!(block_on(w.app.meta.begin_move("ten_a", 1)).unwrap());
    block_on(quire::ports::Gate::bump(&w.app.gate, "ten_a")).unwrap();
    let refused = w.upload("text/plain", b"written during the move");
    assert_problem(&refused, 503, "tenant_moving");
    assert_eq!(refused.header("retry-after"), Some("5"));
    let read = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{doc}")));
    assert_eq!(read.status, 200, "reads go on");
    // A second move of the same tenant is refused while one runs.
    let again = w.send(
        Request::new(Method::Post, "/v1/tenants/ten_a/move")
            .with_header("authorization", &format!("Bearer {OPERATOR}"))
            .with_header("content-type", "application/json")
            .with_body(br#"{"shard": 0}"#.to_vec()),
    );
    assert_problem(&again, 409, "already_on_shard");
    block_on(w.app.meta.end_move("ten_a", None)).unwrap();
    block_on(quire::ports::Gate::bump(&w.app.gate, "ten_a")).unwrap();
    assert_eq!(w.upload("text/plain", b"after").status, 201);
}

#[test]
fn a_write_is_held_by_its_tenants_gate_until_its_work_after_the_response_is_done() {
    use quire::ports::Gate;
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    // As the edge runs it: the response first, its work after it later.
    let write = w
        .as_admin(Method::Post, "/v1/documents")
        .with_header("content-type", "text/plain")
        .with_body(b"held while written".to_vec());
    let ctx = quire::app::Ctx::new(1_700_000_000_100, "req_write");
    assert_eq!(block_on(w.app.handle(&write, &ctx)).status, 201);
    assert_eq!(w.app.gate.writes_held("ten_a"), 1);
    // A move's freeze bumps the epoch: the write, admitted before it, is
    // one the move waits for.
    block_on(w.app.gate.bump("ten_a")).unwrap();
    assert_eq!(block_on(w.app.gate.drain_writes("ten_a", 0)).unwrap(), 1);
    // A read holds nothing.
    let read = w.as_admin(Method::Get, "/v1/documents");
    let read_ctx = quire::app::Ctx::new(1_700_000_000_200, "req_read");
    assert_eq!(block_on(w.app.handle(&read, &read_ctx)).status, 200);
    assert_eq!(w.app.gate.writes_held("ten_a"), 1);
    // Once the work after the response is done, nothing holds a move back.
    assert!(block_on(w.app.finish(ctx.take_after())).is_empty());
    assert!(block_on(w.app.finish(read_ctx.take_after())).is_empty());
    assert_eq!(w.app.gate.writes_held("ten_a"), 0);
    assert_eq!(block_on(w.app.gate.drain_writes("ten_a", 0)).unwrap(), 0);
}

#[test]
fn a_move_to_a_shard_the_deployment_lacks_is_refused_and_changes_nothing() {
    let w = spawn_app();
    seed_tenant(&w, "ten_a");
    let operator = |body: &str| {
        w.send(
            Request::new(Method::Post, "/v1/tenants/ten_a/move")
                .with_header("authorization", &format!("Bearer {OPERATOR}"))
                .with_header("content-type", "application/json")
                .with_body(body.as_bytes().to_vec()),
        )
    };
    assert_problem(&operator(r#"{"shard": 1}"#), 422, "no_such_shard");
    assert_problem(&operator(r#"{"shard": -1}"#), 422, "invalid_body");
    assert_problem(&operator(r#"{"shard": 0, "x": 1}"#), 422, "invalid_body");
    assert_problem(&operator("{"), 422, "invalid_body");
    assert_eq!(w.upload("text/plain", b"still writable").status, 201);
}

/// A classic little-endian TIFF of grey pages (`w` × `h`, uncompressed),
/// one flat shade each, each page's directory pointing at the next.
fn tiff_of(w: u16, h: u16, shades: &[u8]) -> Vec<u8> {
    let area = usize::from(w) * usize::from(h);
    let pages: Vec<Vec<u8>> = shades.iter().map(|&s| vec![s; area]).collect();
    tiff_pages(w, h, &pages)
}

/// A classic little-endian TIFF of grey pages of `w` × `h` pixels each.
fn tiff_pages(w: u16, h: u16, pages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"II\x2a\x00\x00\x00\x00\x00".to_vec();
    let mut link = 4;
    for pixels in pages {
        let strip = out.len() as u32;
        out.extend_from_slice(pixels);
        let dir = out.len() as u32;
        out[link..link + 4].copy_from_slice(&dir.to_le_bytes());
        let entries: [(u16, u16, u32); 9] = [
            (256, 3, u32::from(w)),
            (257, 3, u32::from(h)),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, strip),
            (277, 3, 1),
            (278, 3, u32::from(h)),
            (279, 4, u32::from(w) * u32::from(h)),
        ];
        out.extend(9u16.to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        link = out.len();
        out.extend(0u32.to_le_bytes());
    }
    out
}

#[test]
fn every_page_of_a_multi_page_tiff_is_read_by_ocr_on_its_own_page() {
    let mut w = spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "100000"),
        ("USAGE_BUDGETS", "stored_bytes=100000"),
    ]);
    w.ocr.words = vec![ocr_word("Fax", 10, 10, true)];
    let tiff = tiff_of(64, 48, &[0, 128, 255]);
    let job_id = w.job_id(&w.upload_id("image/tiff", &tiff));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let result = result_of(&w, &job_id, "extract");
    assert_eq!(result["pages"], 3, "{result}");
    let pages: Vec<u64> = result["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] != "page_break")
        .map(|e| e["page"].as_u64().unwrap())
        .collect();
    assert_eq!(pages, vec![1, 2, 3]);
    // Each page went to the engine as its own picture.
    assert_eq!(*w.ocr.seen.borrow(), vec![(64, 48); 3]);
}

#[test]
fn a_ruled_cell_the_page_reading_passed_over_is_read_again_on_its_own_and_lands_in_its_cell() {
    let mut w = spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "100000"),
        ("USAGE_BUDGETS", "stored_bytes=100000"),
    ]);
    // A grid of two columns (x 20 | 150 | 280) and two rows (y 20 | 80 |
    // 140) of 2-px rules, and ink in the bottom-right cell.
    let (width, height) = (300usize, 200usize);
    let mut px = vec![255u8; width * height];
    for &y in &[20, 80, 140] {
        for x in 20..282 {
            px[y * width + x] = 0;
            px[(y + 1) * width + x] = 0;
        }
    }
    for &x in &[20, 150, 280] {
        for y in 20..142 {
            px[y * width + x] = 0;
            px[y * width + x + 1] = 0;
        }
    }
    for y in 100..120 {
        for x in 200..212 {
            px[y * width + x] = 0;
        }
    }
    w.ocr.words = vec![
        ocr_word("Item", 40, 40, true),
        ocr_word("Count", 170, 40, true),
        ocr_word("Pens", 40, 100, true),
    ];
    // Read on its own, the cell says 42 (where it stands in the crop).
    w.ocr.parts = vec![ocr_word("42", 15, 15, true)];
    let tiff = tiff_pages(width as u16, height as u16, &[px]);
    let job_id = w.job_id(&w.upload_id("image/tiff", &tiff));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let result = result_of(&w, &job_id, "extract");
    let table = &result["elements"][0];
    assert_eq!(table["type"], "table", "{result}");
    assert_eq!(
        table["rows"],
        serde_json::json!([["Item", "Count"], ["Pens", "42"]])
    );
    // The page, then the one cell with ink and no word: two reads.
    let seen = w.ocr.seen.borrow();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[1].0 < 150 && seen[1].1 < 80,
        "a cell, not the page: {seen:?}"
    );
}
