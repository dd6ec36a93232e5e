//! Application tests of operations: the operator's metrics, SLO burn-rate
//! alerts (signed, de-duplicated, resolved), and D1 backups to R2.

use quire::ops::metrics::{Rollup, Stats};
use quire::ports::{JobTiming, OpsStore};
use quire_testkit::world::*;

const ALERTS: &str = "http://alerts.test/hook";
const MINUTE: u64 = 60_000;

fn op(w: &World, method: Method, path: &str) -> Response {
    w.send(Request::new(method, path).with_header("authorization", &format!("Bearer {OPERATOR}")))
}

fn rollup(minute: u64, name: &str, ok: u64, server_errors: u64, ms: u64) -> Rollup {
    let mut stats = Stats::default();
    (0..ok).for_each(|_| stats.record(200, ms));
    (0..server_errors).for_each(|_| stats.record(503, ms));
    Rollup {
        minute,
        name: name.into(),
        stats,
    }
}

fn now_minute(w: &World) -> u64 {
    w.clock.0.get() / MINUTE
}

#[test]
fn metrics_need_the_operator_and_a_sane_window() {
    let w = spawn_app();
    let resp = w.send(w.as_admin(Method::Get, "/v1/admin/metrics"));
    assert_problem(&resp, 401, "unauthorized");
    let resp = op(&w, Method::Get, "/v1/admin/metrics?window=0");
    assert_problem(&resp, 422, "invalid_window");
    let resp = op(&w, Method::Get, "/v1/admin/metrics?window=99999");
    assert_problem(&resp, 422, "invalid_window");
}

#[test]
fn metrics_report_percentiles_errors_jobs_and_llm_per_window() {
    let w = spawn_app();
    let m = now_minute(&w);
    block_on(w.app.ops.add_metrics(&[
        rollup(m, "GET GetDocument", 90, 0, 40),
        rollup(m, "GET GetDocument", 8, 2, 400),
        rollup(m - 1, "POST CreateDocument", 10, 0, 120),
        // Outside a 60-minute window.
        rollup(m - 120, "POST CreateDocument", 0, 50, 9000),
    ]))
    .unwrap();
    // A real job, processed, with its document's format.
    let doc = w.upload_id("text/plain", b"Quarterly figures rose by four percent.");
    let job_id = w.job_id(&doc);
    w.deliver(&job_id);
    let job = w.app.meta.jobs.borrow().get(&job_id).cloned().unwrap();
    assert!(job.finished_at_ms.is_some());
    // And one with LLM work, finished a minute earlier, in PDF.
    let mut summarized = job.clone();
    summarized.id = "job_llm".into();
    summarized.finished_at_ms = job.finished_at_ms.map(|f| f - MINUTE);
    summarized.command_states[0].llm = Some(quire::llm::engine::LlmUsage {
        model: Some("fake/small".into()),
        input_tokens: 300,
        output_tokens: 40,
        cost_usd: 0.25,
        ..Default::default()
    });
    w.app.ops.jobs.borrow_mut().extend([
        JobTiming {
            job,
            media_type: "text/plain".into(),
        },
        JobTiming {
            job: summarized,
            media_type: "application/pdf".into(),
        },
    ]);
    // Rolled up as they come, the current minute included.
    let body = op(&w, Method::Get, "/v1/admin/metrics?window=60").json_body();
    assert_eq!(body["jobs"]["finished"], 2);

    let resp = op(&w, Method::Get, "/v1/admin/metrics?window=60");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body["window_minutes"], 60);
    let routes = body["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2, "{routes:?}");
    let get = &routes[0];
    assert_eq!(get["route"], "GET GetDocument");
    assert_eq!(get["requests"], 100);
    assert_eq!(get["server_errors"], 2);
    assert_eq!(get["error_rate"], 0.02);
    assert_eq!(get["p50_ms"], 50);
    // 10 of 100 took 400 ms: the 95th is in the (300, 500] bucket.
    assert_eq!(get["p95_ms"], 500);
    assert_eq!(
        body["requests"]["requests"], 110,
        "job rollups are not requests"
    );
    assert_eq!(body["jobs"]["finished"], 2);
    assert_eq!(body["jobs"]["outcomes"]["succeeded"], 2);
    assert_eq!(body["jobs"]["formats"][1]["media_type"], "text/plain");
    assert_eq!(body["jobs"]["formats"][1]["processing_ms"]["count"], 1);
    assert_eq!(body["jobs"]["queue_wait_ms"]["count"], 2);
    assert_eq!(body["jobs"]["llm"]["input_tokens"], 300);
    assert_eq!(body["jobs"]["llm"]["cost_usd"], 0.25);
    assert_eq!(body["jobs"]["llm"]["models"][0]["model"], "fake/small");

    // The rollups stand on their own: passes that overlap count a job
    // once, and jobs deleted since (retention, erasure) still count.
    w.app.ops.jobs.borrow_mut().clear();
    w.clock.advance(MINUTE);
    let again = op(&w, Method::Get, "/v1/admin/metrics?window=60").json_body();
    assert_eq!(again["jobs"], body["jobs"]);

    // A day-long window takes in the old failures too.
    let body = op(&w, Method::Get, "/v1/admin/metrics?window=1440").json_body();
    assert_eq!(body["requests"]["requests"], 160);
    assert_eq!(body["requests"]["server_errors"], 52);
}

#[test]
fn a_rollup_pass_reads_busy_minutes_in_pages_and_counts_each_job_once() {
    let w = spawn_app();
    let doc = w.upload_id("text/plain", b"busy");
    let job_id = w.job_id(&doc);
    w.deliver(&job_id);
    let done = w.app.meta.jobs.borrow().get(&job_id).cloned().unwrap();
    // 4,500 jobs over three minutes: pages of 2,000 end inside minutes.
    let first = now_minute(&w) * MINUTE;
    w.app.ops.jobs.borrow_mut().extend((0..4_500u64).map(|i| {
        let mut job = done.clone();
        job.id = format!("job_{i}");
        job.finished_at_ms = Some(first + i * 40);
        JobTiming {
            job,
            media_type: "text/plain".into(),
        }
    }));
    w.clock.advance(5 * MINUTE);
    let report = block_on(w.app.evaluate_slos(w.clock.0.get()));
    assert_eq!(report.errors, 0);
    assert_eq!(report.jobs_rolled_up, 4_500);
    // The next pass goes over the last minutes again, replacing them.
    w.clock.advance(MINUTE);
    let report = block_on(w.app.evaluate_slos(w.clock.0.get()));
    assert!(report.jobs_rolled_up > 0);
    let body = op(&w, Method::Get, "/v1/admin/metrics?window=60").json_body();
    assert_eq!(body["jobs"]["finished"], 4_500);
}

fn alerting_world() -> World {
    let w = spawn_app_with(&[
        ("ALERT_WEBHOOK_URL", ALERTS),
        (
            "ALERT_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("SLOS", "availability=99.9"),
    ]);
    w.app
        .http
        .responses
        .borrow_mut()
        .insert(ALERTS.into(), (204, String::new()));
    w
}

#[test]
fn a_fast_burn_fires_once_signed_and_resolves_once() {
    let w = alerting_world();
    let m = now_minute(&w);
    // 5 % server errors for the last hour: 50x the 0.1 % allowance.
    let hot: Vec<Rollup> = (0..60)
        .map(|i| rollup(m - i, "GET GetDocument", 95, 5, 20))
        .collect();
    block_on(w.app.ops.add_metrics(&hot)).unwrap();

    let now = w.clock.0.get();
    let report = block_on(w.app.evaluate_slos(now));
    assert_eq!((report.opened, report.notified), (2, 2), "{report:?}");
    let posted = w.app.http.posted.borrow().clone();
    assert_eq!(posted.len(), 2);
    let (url, headers, body) = &posted[0];
    assert_eq!(url, ALERTS);
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let sig = header("webhook-signature").expect("signed");
    let id = header("webhook-id").unwrap();
    let ts: u64 = header("webhook-timestamp").unwrap().parse().unwrap();
    assert_eq!(
        sig,
        quire::webhooks::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &id, ts, body).unwrap()
    );
    let alert: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(alert["type"], "alert.firing");
    assert_eq!(alert["alert"]["slo"], "availability");

    // Still burning: nothing new is sent.
    let report = block_on(w.app.evaluate_slos(now + 1000));
    assert_eq!((report.firing, report.opened, report.notified), (2, 0, 0));
    assert_eq!(w.app.http.posted.borrow().len(), 2);

    // The status page shows the spent budget and the alerts.
    let slo = op(&w, Method::Get, "/v1/admin/slo").json_body();
    let avail = &slo["objectives"][0];
    assert_eq!(avail["slo"]["name"], "availability");
    assert_eq!(avail["total"], 6000);
    assert_eq!(avail["good"], 5700);
    assert_eq!(avail["burn_rates"]["60m"], 50.0);
    assert!(avail["budget_remaining"].as_f64().unwrap() < 0.0);
    assert_eq!(slo["alerts"].as_array().unwrap().len(), 2);

    // Seven hours later, all quiet and healthy: both resolve, once.
    let later = now + 7 * 3_600_000;
    let healthy: Vec<Rollup> = (0..360)
        .map(|i| rollup(later / MINUTE - i, "GET GetDocument", 100, 0, 20))
        .collect();
    block_on(w.app.ops.add_metrics(&healthy)).unwrap();
    let report = block_on(w.app.evaluate_slos(later));
    assert_eq!((report.resolved, report.notified), (2, 2), "{report:?}");
    let posted = w.app.http.posted.borrow().clone();
    let last: serde_json::Value = serde_json::from_str(&posted[3].2).unwrap();
    assert_eq!(last["type"], "alert.resolved");
    let report = block_on(w.app.evaluate_slos(later + 60_000));
    assert_eq!((report.resolved, report.notified), (0, 0));
}

#[test]
fn an_unreachable_receiver_gets_the_alert_on_the_next_run() {
    let w = alerting_world();
    w.app.http.responses.borrow_mut().clear();
    let m = now_minute(&w);
    let hot: Vec<Rollup> = (0..60)
        .map(|i| rollup(m - i, "POST CreateJob", 50, 50, 20))
        .collect();
    block_on(w.app.ops.add_metrics(&hot)).unwrap();
    let now = w.clock.0.get();
    let report = block_on(w.app.evaluate_slos(now));
    assert_eq!(
        (report.opened, report.notified, report.notify_failed),
        (2, 0, 2)
    );
    w.app
        .http
        .responses
        .borrow_mut()
        .insert(ALERTS.into(), (200, String::new()));
    let report = block_on(w.app.evaluate_slos(now + 300_000));
    assert_eq!((report.opened, report.notified), (0, 2));
}

#[test]
fn dead_letters_raise_a_ticket_and_client_errors_do_not_burn() {
    let w = alerting_world();
    let now = w.clock.0.get();
    let m = now / MINUTE;
    // Only 4xx: the caller's mistakes are not unavailability.
    let mut stats = Stats::default();
    (0..100).for_each(|_| stats.record(404, 5));
    let rollups: Vec<Rollup> = (0..60)
        .map(|i| Rollup {
            minute: m - i,
            name: "GET GetDocument".into(),
            stats: stats.clone(),
        })
        .collect();
    block_on(w.app.ops.add_metrics(&rollups)).unwrap();
    w.app
        .ops
        .dead_letters
        .borrow_mut()
        .push((now - 1000, false));
    let report = block_on(w.app.evaluate_slos(now));
    assert_eq!(report.opened, 1, "{report:?}");
    let alerts = block_on(w.app.ops.list_alerts()).unwrap();
    assert_eq!(alerts[0].id, "dead_letters:ticket");
}

#[test]
fn backups_are_encrypted_listed_downloadable_and_pruned() {
    let w = spawn_app_with(&[("BACKUP_RETENTION_DAYS", "7")]);
    let row = |v: serde_json::Value| v.as_object().unwrap().clone();
    w.app.ops.tables.borrow_mut().extend([
        (
            "tenants".to_string(),
            vec![row(
                serde_json::json!({"id": "ten_canary", "name": "Canary's Ltd"}),
            )],
        ),
        (
            "documents".to_string(),
            (0..1200)
                .map(|i| row(serde_json::json!({"id": format!("doc_{i}"), "size_bytes": i})))
                .collect(),
        ),
    ]);
    let resp = w.send(w.as_admin(Method::Post, "/v1/admin/backups"));
    assert_problem(&resp, 401, "unauthorized");
    let resp = op(&w, Method::Post, "/v1/admin/backups");
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let made = resp.json_body();
    assert_eq!(made["tables"]["documents"], 1200, "paged past 500 rows");
    let id = made["id"].as_str().unwrap().to_string();

    // Stored encrypted: the raw object holds no row.
    let key = made["key"].as_str().unwrap();
    let raw = w
        .app
        .blobs
        .inner
        .objects
        .borrow()
        .get(key)
        .cloned()
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("ten_canary"));

    let list = op(&w, Method::Get, "/v1/admin/backups").json_body();
    assert_eq!(list["data"][0]["id"], id.as_str());
    let sql = op(&w, Method::Get, &format!("/v1/admin/backups/{id}"));
    assert_eq!(sql.status, 200);
    let text = String::from_utf8(sql.body.clone()).unwrap();
    assert!(text.contains("PRAGMA defer_foreign_keys = true;"));
    assert!(text.contains(
        "INSERT INTO \"tenants\" (\"id\", \"name\") VALUES ('ten_canary', 'Canary''s Ltd');"
    ));
    assert_eq!(text.matches("INSERT INTO \"documents\"").count(), 1200);
    let missing = op(&w, Method::Get, "/v1/admin/backups/bak_nope");
    assert_problem(&missing, 404, "not_found");
    let odd = op(&w, Method::Get, "/v1/admin/backups/..%2Fx");
    assert_problem(&odd, 404, "not_found");

    // Eight days on, the daily run makes a new backup and drops the old.
    let later = w.clock.0.get() + 8 * 86_400_000;
    let report = block_on(w.app.daily(later));
    assert_eq!(report["backups_deleted"], 1, "{report}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);
    let list = op(&w, Method::Get, "/v1/admin/backups").json_body();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_ne!(list["data"][0]["id"], id.as_str());
}

#[test]
fn a_job_reports_what_it_used_and_usage_and_metrics_sum_it_per_day_and_tenant() {
    let w = spawn_app();
    let body = b"Resources are counted. One sentence, then another.";
    let job_id = w.job_id(&w.upload_id("text/plain", body));
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let used = w.job(&job_id)["resources"].clone();
    assert_eq!(used["bytes_read"], body.len() as u64, "{used}");
    assert_eq!(used["pages"], 1);
    for step in [
        "prepare_ms",
        "extract_ms",
        "llm_ms",
        "commands_ms",
        "wasm_memory_bytes",
    ] {
        assert!(used[step].is_u64(), "{step} in {used}");
    }
    // A second job on the same bytes reads the stored extraction instead.
    let again = w.job_id(&w.upload_id("text/plain", body));
    assert_eq!(w.deliver(&again), Disposition::Ack);
    assert_ne!(w.job(&again)["resources"]["bytes_read"], used["bytes_read"]);
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    let today = quire::usage::day_of(w.clock.0.get());
    assert_eq!(usage["daily"][&today]["jobs_succeeded"], 2, "{usage}");
    assert!(usage["daily"][&today]["bytes_read"].as_u64().unwrap() >= body.len() as u64);
    let metrics = op(&w, Method::Get, "/v1/admin/metrics").json_body();
    let resources = &metrics["resources"];
    assert_eq!(resources["jobs"], 2, "{resources}");
    assert_eq!(resources["top_tenants"][0]["key"], "ten_a");
    assert_eq!(resources["top_tenants"][0]["jobs"], 2);
}
