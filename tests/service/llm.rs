//! Application tests of the LLM commands over a scripted provider: routing,
//! caching, batching, retries, fallbacks, circuit breakers, repair of
//! invalid answers, degradation, budgets and token accounting.

use quire_testkit::world::*;

const SUMMARY: &str = r#"{"summary":"A short summary."}"#;

fn world(extra: &[(&str, &str)]) -> World {
    // The first setting of a name wins: the test's own come first.
    let mut settings = extra.to_vec();
    settings.extend_from_slice(&[
        ("MAX_UPLOAD_BYTES", "100000"),
        ("USAGE_BUDGETS", "requests=100000,stored_bytes=10000000"),
        (
            "LLM_PROVIDERS",
            "p=openai:http://p.test/v1,q=openai:http://q.test/v1",
        ),
        ("LLM_TIERS", "small=p/small|q/small;large=p/large|q/large"),
        ("LLM_PRICES", "p/small=1:2,p/large=10:20"),
        ("LLM_BREAKER_FAILURES", "2"),
        ("LLM_BREAKER_COOLDOWN_SECONDS", "30"),
        ("LLM_SMALL_MAX_TOKENS", "500"),
    ]);
    spawn_app_with(&settings)
}

fn answer(text: &str, usage: (u32, u32)) -> LlmScript {
    LlmScript::Answer(text.to_string(), Some(usage))
}

fn run(w: &World, text: &str, commands: &str) -> (String, Value) {
    let doc = w.upload_id("text/plain", text.as_bytes());
    let job_id = job_with(w, &doc, commands);
    assert_eq!(w.deliver(&job_id), Disposition::Ack);
    let job = w.job(&job_id);
    (job_id, job)
}

fn calls_to(w: &World, target: &str) -> usize {
    w.llm
        .calls
        .borrow()
        .iter()
        .filter(|(t, _)| t == target)
        .count()
}

#[test]
fn a_summary_is_answered_by_the_small_tier_with_tokens_and_cost_recorded() {
    let w = world(&[]);
    w.llm.script("p/small", vec![answer(SUMMARY, (100, 20))]);
    let (job_id, job) = run(&w, "Quire reads documents.", r#"[{"name":"summarize"}]"#);
    assert_eq!(job["status"], "succeeded", "{job}");
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["summary"], "A short summary.");
    assert_eq!(r["llm"]["model"], "p/small");
    assert_eq!(r["llm"]["tier"], "small");
    assert_eq!(r["llm"]["input_tokens"], 100);
    assert_eq!(r["llm"]["output_tokens"], 20);
    assert_eq!(r["llm"]["estimated"], false);
    assert!((r["llm"]["cost_usd"].as_f64().unwrap() - 0.00014).abs() < 1e-12);
    assert_eq!(job["command_progress"][0]["llm"]["input_tokens"], 100);
    // The system prompt asks for JSON; the document is in the user message.
    let (_, req) = w.llm.calls.borrow()[0].clone();
    assert!(req.json && req.user.contains("Quire reads documents."));
}

#[test]
fn the_router_sends_field_extraction_and_long_inputs_to_the_large_tier() {
    let w = world(&[]);
    w.llm
        .script("p/large", vec![answer(r#"{"fields":{"n":1}}"#, (50, 5))]);
    let schema = r#"{"type":"object","properties":{"n":{"type":"integer"}}}"#;
    let (_, job) = run(
        &w,
        "n is 1",
        &format!(r#"[{{"name":"extract_fields","options":{{"schema":{schema}}}}}]"#),
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(calls_to(&w, "p/large"), 1);
    w.llm.script("p/large", vec![answer(SUMMARY, (900, 20))]);
    let long = "word ".repeat(800);
    let (_, job) = run(&w, &long, r#"[{"name":"summarize"}]"#);
    assert_eq!(job["command_progress"][0]["llm"]["tier"], "large");
    assert_eq!(calls_to(&w, "p/small"), 0);
}

#[test]
fn the_same_request_on_the_same_bytes_is_served_from_the_cache() {
    let w = world(&[]);
    w.llm.script("p/small", vec![answer(SUMMARY, (100, 20))]);
    let commands = r#"[{"name":"summarize","options":{"length":"short"}}]"#;
    let (_, first) = run(&w, "Same bytes.", commands);
    let (job_id, second) = run(&w, "Same bytes.", commands);
    assert_eq!(first["status"], "succeeded");
    assert_eq!(calls_to(&w, "p/small"), 1, "the second job made no call");
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["llm"]["cached"], true);
    assert_eq!(r["llm"]["input_tokens"], 0);
    assert_eq!(second["command_progress"][0]["llm"]["cached"], true);
    // Other options, other bytes, or past the TTL: a new call.
    run(
        &w,
        "Same bytes.",
        r#"[{"name":"summarize","options":{"length":"long"}}]"#,
    );
    run(&w, "Other bytes.", commands);
    assert_eq!(calls_to(&w, "p/small"), 3);
    w.clock.advance(8 * 86_400_000);
    run(&w, "Same bytes.", commands);
    assert_eq!(calls_to(&w, "p/small"), 4);
}

#[test]
fn retryable_failures_are_retried_with_backoff_then_succeed() {
    let w = world(&[]);
    w.llm.script(
        "p/small",
        vec![
            LlmScript::Fail(true),
            LlmScript::Fail(true),
            answer(SUMMARY, (10, 2)),
        ],
    );
    let before = w.clock.0.get();
    let (job_id, job) = run(&w, "Retry me.", r#"[{"name":"summarize"}]"#);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(calls_to(&w, "p/small"), 3);
    assert!(
        w.clock.0.get() - before >= 1500,
        "slept 500 ms + 1 s at least"
    );
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["llm"]["model"], "p/small");
    assert_eq!(r["llm"]["failures"].as_array().unwrap().len(), 2);
}

#[test]
fn non_retryable_errors_and_cut_off_answers_fall_back_to_the_next_model() {
    let w = world(&[]);
    w.llm.script("p/small", vec![LlmScript::Fail(false)]);
    w.llm.script("q/small", vec![answer(SUMMARY, (10, 2))]);
    let (job_id, _) = run(&w, "Fall back.", r#"[{"name":"summarize"}]"#);
    assert_eq!(
        result_of(&w, &job_id, "summarize")["llm"]["model"],
        "q/small"
    );
    assert_eq!(calls_to(&w, "p/small"), 1, "not retried");

    let w = world(&[]);
    w.llm.script("p/small", vec![LlmScript::Truncated]);
    w.llm.script("q/small", vec![answer(SUMMARY, (10, 2))]);
    let (job_id, _) = run(&w, "Cut off.", r#"[{"name":"summarize"}]"#);
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["llm"]["model"], "q/small");
    assert!(r["llm"]["failures"][0]
        .as_str()
        .unwrap()
        .contains("cut off"));
}

#[test]
fn an_invalid_answer_is_repaired_once_then_falls_back() {
    let w = world(&[]);
    w.llm.script(
        "p/small",
        vec![
            answer("Sure! Here it is: summary", (10, 5)),
            answer(SUMMARY, (30, 5)),
        ],
    );
    let (job_id, _) = run(&w, "Repair.", r#"[{"name":"summarize"}]"#);
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["llm"]["model"], "p/small");
    assert_eq!(r["llm"]["calls"], 2);
    assert_eq!(r["llm"]["input_tokens"], 40, "both calls are paid for");
    let repair = &w.llm.calls.borrow()[1].1;
    assert!(repair.user.contains("It was rejected"));

    // extract_fields answers that keep violating the schema go to the next model.
    let w = world(&[]);
    let schema =
        r#"{"type":"object","required":["total"],"properties":{"total":{"type":"number"}}}"#;
    w.llm.script(
        "p/large",
        vec![answer(r#"{"fields":{"total":"twelve"}}"#, (10, 5))],
    );
    w.llm.script(
        "q/large",
        vec![answer(r#"{"fields":{"total":12}}"#, (10, 5))],
    );
    let (job_id, job) = run(
        &w,
        "Total 12.",
        &format!(r#"[{{"name":"extract_fields","options":{{"schema":{schema}}}}}]"#),
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    let r = result_of(&w, &job_id, "extract_fields");
    assert_eq!(r["fields"]["total"], 12);
    assert_eq!(calls_to(&w, "p/large"), 2);
}

#[test]
fn a_failing_model_opens_its_circuit_and_is_skipped_until_the_cooldown() {
    let w = world(&[]);
    w.llm.script("p/small", vec![LlmScript::Fail(false)]);
    w.llm.script("q/small", vec![answer(SUMMARY, (10, 2))]);
    run(&w, "one", r#"[{"name":"summarize"}]"#);
    run(&w, "two", r#"[{"name":"summarize"}]"#);
    assert_eq!(calls_to(&w, "p/small"), 2);
    let state =
        futures::executor::block_on(quire::llm::BreakerStore::state(&w.app.breakers, "p/small"));
    assert_eq!(state.unwrap().state, quire::llm::breaker::State::Open);
    let ready = w.send(Request::new(Method::Get, "/ready")).json_body();
    assert_eq!(ready["llm_circuits"]["p/small"], "open");
    run(&w, "three", r#"[{"name":"summarize"}]"#);
    assert_eq!(calls_to(&w, "p/small"), 2, "skipped while open");
    w.clock.advance(30_000);
    w.llm.script("p/small", vec![answer(SUMMARY, (10, 2))]);
    let (job_id, _) = run(&w, "four", r#"[{"name":"summarize"}]"#);
    assert_eq!(calls_to(&w, "p/small"), 3, "one probe after the cooldown");
    assert_eq!(
        result_of(&w, &job_id, "summarize")["llm"]["model"],
        "p/small"
    );
    let ready = w.send(Request::new(Method::Get, "/ready")).json_body();
    assert_eq!(ready["llm_circuits"]["p/small"], "closed");
}

#[test]
fn a_weighted_step_shares_its_load_and_a_failing_member_hands_its_share_to_the_others() {
    let w = world(&[("LLM_TIERS", "small=p/small*3+q/small|p/large;large=p/large")]);
    w.llm.script("p/small", vec![answer(SUMMARY, (10, 2))]);
    w.llm.script("q/small", vec![answer(SUMMARY, (10, 2))]);
    for i in 0..80 {
        w.clock.advance(7);
        let (_, job) = run(
            &w,
            &format!("document number {i}"),
            r#"[{"name":"summarize"}]"#,
        );
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let (p, q) = (calls_to(&w, "p/small"), calls_to(&w, "q/small"));
    assert_eq!(p + q, 80, "one call each, no fallback needed");
    // 3:1 expected (60:20); a weighted draw per request lands near it.
    assert!(
        (48..=72).contains(&p),
        "p/small took {p} of 80, q/small {q}"
    );
    assert_eq!(calls_to(&w, "p/large"), 0);
    // The heavy member fails: its circuit opens and the step's other
    // member takes every request, before the next step is needed.
    w.llm.script("p/small", vec![LlmScript::Fail(false)]);
    for i in 0..20 {
        w.clock.advance(7);
        let (job_id, _) = run(
            &w,
            &format!("later document {i}"),
            r#"[{"name":"summarize"}]"#,
        );
        assert_eq!(
            result_of(&w, &job_id, "summarize")["llm"]["model"],
            "q/small"
        );
    }
    assert!(
        calls_to(&w, "p/small") - p <= 2,
        "at most LLM_BREAKER_FAILURES calls before it opens"
    );
    assert_eq!(calls_to(&w, "p/large"), 0);
}

#[test]
fn an_answer_cached_from_one_member_of_a_shared_step_serves_the_others() {
    let w = world(&[("LLM_TIERS", "small=p/small+q/small|p/large;large=p/large")]);
    for t in ["p/small", "q/small"] {
        w.llm.script(t, vec![answer(SUMMARY, (10, 2))]);
    }
    for i in 0..6 {
        w.clock.advance(7);
        let (job_id, _) = run(&w, "the same bytes every time", r#"[{"name":"summarize"}]"#);
        let served = &result_of(&w, &job_id, "summarize")["llm"];
        assert_eq!(served["cached"], i > 0, "{served}");
    }
    assert_eq!(calls_to(&w, "p/small") + calls_to(&w, "q/small"), 1);
}

#[test]
fn when_every_model_is_down_summaries_and_answers_degrade_and_the_rest_fails_typed() {
    let w = world(&[]);
    for t in ["p/small", "q/small", "p/large", "q/large"] {
        w.llm.script(t, vec![LlmScript::Fail(false)]);
    }
    let text = "Turbines need service. The warranty lasts five years. Oil is changed yearly.";
    let (job_id, job) = run(
        &w,
        text,
        r#"[{"name":"summarize"},{"name":"ask","options":{"question":"How long is the warranty?"}}]"#,
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    let s = result_of(&w, &job_id, "summarize");
    assert_eq!(s["llm"]["degraded"], true);
    assert!(s["summary"].as_str().unwrap().contains("warranty"));
    let a = result_of(&w, &job_id, "ask");
    assert_eq!(a["llm"]["degraded"], true);
    assert!(a["answer"].is_null());
    assert!(a["citations"][0]["text"]
        .as_str()
        .unwrap()
        .contains("warranty"));

    let (_, job) = run(
        &w,
        text,
        r#"[{"name":"classify","options":{"labels":["manual","invoice"]}}]"#,
    );
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "llm_unavailable");
}

#[test]
fn commands_of_one_job_share_one_call_and_split_its_tokens() {
    let w = world(&[]);
    w.llm.script(
        "p/small",
        vec![answer(
            r#"{"summarize":{"summary":"S."},"classify":{"label":"letter","confidence":0.7}}"#,
            (300, 60),
        )],
    );
    let (job_id, job) = run(
        &w,
        "Dear Sir, thank you.",
        r#"[{"name":"summarize"},{"name":"classify","options":{"labels":["invoice","letter"]}}]"#,
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(calls_to(&w, "p/small"), 1);
    let s = result_of(&w, &job_id, "summarize");
    let c = result_of(&w, &job_id, "classify");
    assert_eq!(
        (s["llm"]["batched"].as_bool(), c["label"].as_str()),
        (Some(true), Some("letter"))
    );
    let inputs =
        s["llm"]["input_tokens"].as_u64().unwrap() + c["llm"]["input_tokens"].as_u64().unwrap();
    let outputs =
        s["llm"]["output_tokens"].as_u64().unwrap() + c["llm"]["output_tokens"].as_u64().unwrap();
    assert_eq!(
        (inputs, outputs),
        (300, 60),
        "the call's tokens are apportioned, not duplicated"
    );

    // An invalid batch answer falls back to one call per command.
    let w = world(&[]);
    w.llm.script(
        "p/small",
        vec![
            answer(r#"{"summarize":{"summary":"S."}}"#, (300, 10)),
            answer(r#"{"summarize":{"summary":"S."}}"#, (300, 10)),
            answer(SUMMARY, (100, 10)),
            answer(r#"{"label":"letter","confidence":0.5}"#, (100, 10)),
        ],
    );
    let (_, job) = run(
        &w,
        "Dear Sir.",
        r#"[{"name":"summarize"},{"name":"classify","options":{"labels":["invoice","letter"]}}]"#,
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        calls_to(&w, "p/small"),
        4,
        "batch + its repair, then two single calls"
    );
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    assert_eq!(
        usage["usage"]["llm_tokens"]["used"], 840,
        "the failed batch's tokens are paid for, so metered too"
    );
}

#[test]
fn the_naive_baseline_makes_one_large_call_per_command_without_cache() {
    let w = world(&[("LLM_OPTIMIZE", "off")]);
    w.llm.script(
        "p/large",
        vec![
            answer(SUMMARY, (100, 10)),
            answer(r#"{"label":"letter"}"#, (100, 5)),
        ],
    );
    let commands =
        r#"[{"name":"summarize"},{"name":"classify","options":{"labels":["invoice","letter"]}}]"#;
    run(&w, "Dear Sir.", commands);
    assert_eq!(calls_to(&w, "p/large"), 2);
    w.llm.script("p/large", vec![answer(SUMMARY, (100, 10))]);
    run(&w, "Dear Sir.", r#"[{"name":"summarize"}]"#);
    assert_eq!(calls_to(&w, "p/large"), 3, "no cache in the baseline");
    assert_eq!(calls_to(&w, "p/small"), 0, "no routing in the baseline");
}

#[test]
fn tokens_are_metered_and_a_tenant_over_its_budget_is_refused_before_any_call() {
    let w = world(&[(
        "USAGE_BUDGETS",
        "requests=1000,stored_bytes=5000,llm_tokens=100",
    )]);
    w.llm.script("p/small", vec![answer(SUMMARY, (120, 30))]);
    let (_, job) = run(&w, "Spend tokens.", r#"[{"name":"summarize"}]"#);
    assert_eq!(job["status"], "succeeded");
    let usage = w.send(w.as_admin(Method::Get, "/v1/usage")).json_body();
    assert_eq!(usage["usage"]["llm_tokens"]["used"], 150, "{usage}");
    let doc = w.upload_id("text/plain", b"More.");
    let body = format!(r#"{{"document_id":"{doc}","commands":[{{"name":"summarize"}}]}}"#);
    let refused = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_problem(&refused, 402, "budget_exceeded");
    assert_eq!(calls_to(&w, "p/small"), 1);
    // Jobs without LLM commands are not affected by the token budget.
    let body = format!(r#"{{"document_id":"{doc}","commands":[{{"name":"stats"}}]}}"#);
    assert_eq!(
        w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body))
            .status,
        202
    );
}

#[test]
fn usage_without_provider_figures_is_estimated_and_flagged() {
    let w = world(&[]);
    w.llm
        .script("p/small", vec![LlmScript::Answer(SUMMARY.into(), None)]);
    let (job_id, _) = run(
        &w,
        "Estimate my tokens, please.",
        r#"[{"name":"summarize"}]"#,
    );
    let r = result_of(&w, &job_id, "summarize");
    assert_eq!(r["llm"]["estimated"], true);
    assert!(r["llm"]["input_tokens"].as_u64().unwrap() > 10);
}

#[test]
fn bad_llm_options_are_refused_at_job_creation() {
    let w = world(&[]);
    let doc = w.upload_id("text/plain", b"x");
    for commands in [
        r#"[{"name":"translate"}]"#,
        r#"[{"name":"classify","options":{"labels":["only one"]}}]"#,
        r##"[{"name":"extract_fields","options":{"schema":{"type":"object","properties":{"a":{"$ref":"#"}}}}}]"##,
        r#"[{"name":"ask","options":{}}]"#,
    ] {
        let body = format!(r#"{{"document_id":"{doc}","commands":{commands}}}"#);
        let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
        assert_problem(&resp, 422, "invalid_options");
    }
}

#[test]
fn opted_in_pairs_are_exported_as_fine_tuning_jsonl_and_die_with_their_document() {
    let w = world(&[]);
    w.llm.script("p/small", vec![answer(SUMMARY, (10, 2))]);
    let kept = w.upload_id("text/plain", b"Keep my prompts.");
    let body = format!(
        r#"{{"document_id":"{kept}","commands":[{{"name":"summarize"}}],"llm_training_opt_in":true}}"#
    );
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    let job_id = resp.json_body()["id"].as_str().unwrap().to_string();
    w.deliver(&job_id);
    // Not opted in: nothing kept.
    run(
        &w,
        "Do not keep these.",
        r#"[{"name":"summarize","options":{"length":"long"}}]"#,
    );

    let export = w.send(w.as_admin(Method::Get, "/v1/llm/training-data?metadata=true"));
    assert_eq!(export.status, 200);
    assert_eq!(export.header("x-record-count"), Some("1"));
    let text = String::from_utf8(export.body.clone()).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let roles: Vec<&str> = line["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant"]);
    assert!(line["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("Keep my prompts."));
    assert_eq!(line["messages"][2]["content"], SUMMARY);
    assert_eq!(
        (line["command"].as_str(), line["model"].as_str()),
        (Some("summarize"), Some("p/small"))
    );
    assert!(!text.contains("Do not keep"));
    let plain = w.send(w.as_admin(Method::Get, "/v1/llm/training-data"));
    let plain: Value = serde_json::from_slice(&plain.body).unwrap();
    assert!(
        plain.get("command").is_none(),
        "plain lines carry messages only"
    );

    // Deleting the document deletes its pairs and its cached answers.
    let has = |w: &World, part: &str| {
        w.app
            .blobs
            .inner
            .objects
            .borrow()
            .keys()
            .any(|k| k.contains(part))
    };
    assert!(has(&w, "/llm-training/") && has(&w, "/llm-cache/"));
    let del = w.send(w.as_admin(Method::Delete, &format!("/v1/documents/{kept}")));
    assert_eq!(del.status, 204);
    assert!(!has(&w, &format!("/llm-training/{kept}/")));
    let export = w.send(w.as_admin(Method::Get, "/v1/llm/training-data"));
    assert_eq!(export.header("x-record-count"), Some("0"));
    let bad = w.send(w.as_admin(Method::Get, "/v1/llm/training-data?limit=0"));
    assert_problem(&bad, 422, "invalid_limit");
}

#[test]
fn the_operator_can_give_a_tenant_its_own_tiers_over_the_same_providers() {
    let w = world(&[]);
    seed_tenant(&w, "ten_a");
    let patch = |tiers: &str| {
        w.send(
            Request::new(Method::Patch, "/v1/tenants/ten_a")
                .with_header("authorization", &format!("Bearer {OPERATOR}"))
                .with_body(format!(r#"{{"llm_tiers":"{tiers}"}}"#)),
        )
    };
    assert_problem(&patch("large=nowhere/model"), 422, "invalid_llm_tiers");
    assert_problem(&patch("small=q/small"), 422, "invalid_llm_tiers");
    let ok = patch("small=q/small;large=q/large");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json_body()["llm_tiers"], "small=q/small;large=q/large");
    w.llm.script("q/small", vec![answer(SUMMARY, (10, 2))]);
    w.llm.script("p/small", vec![answer(SUMMARY, (10, 2))]);
    let (job_id, _) = run(&w, "Tenant tiers.", r#"[{"name":"summarize"}]"#);
    assert_eq!(
        result_of(&w, &job_id, "summarize")["llm"]["model"],
        "q/small"
    );
    assert_eq!(calls_to(&w, "p/small"), 0);
    // An empty value returns the tenant to the environment's tiers.
    assert_eq!(patch("").status, 200);
    let (job_id, _) = run(&w, "Environment tiers.", r#"[{"name":"summarize"}]"#);
    assert_eq!(
        result_of(&w, &job_id, "summarize")["llm"]["model"],
        "p/small"
    );
}
