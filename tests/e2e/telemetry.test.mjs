// Telemetry through HTTP: W3C Trace Context from the request to the queue
// consumer and its outbound LLM calls, and logs that hold no secrets or
// document text.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { api, jsonLines, waitForJob } from "./helpers.mjs";

const LLM = process.env.QUIRE_FAKE_LLM;
const TRACE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

test("a caller's trace continues through the response, the queue and the LLM calls", async () => {
  const traceId = randomUUID().replaceAll("-", "");
  const incoming = `00-${traceId}-00f067aa0ba902b7-01`;
  await fetch(`${LLM}/control`, { method: "POST", body: JSON.stringify({ reset: true }) });
  const up = await api("POST", "/v1/documents", {
    headers: { "content-type": "text/plain", traceparent: incoming, tracestate: "vendor=1" },
    body: `Trace me ${traceId}.`,
  });
  const [, sameTrace, span] = up.headers.get("traceparent").match(TRACE);
  assert.equal(sameTrace, traceId);
  assert.notEqual(span, "00f067aa0ba902b7", "our own span, child of the caller's");
  assert.equal(up.headers.get("tracestate"), "vendor=1");

  const job = await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json", traceparent: incoming },
    body: JSON.stringify({ document_id: up.json.id, commands: [{ name: "summarize" }] }),
  });
  assert.equal((await waitForJob(job.json.id)).status, "succeeded");
  const stats = await (await fetch(`${LLM}/stats`)).json();
  assert.ok(stats.traceparents.some((t) => t.match(TRACE)?.[1] === traceId), JSON.stringify(stats.traceparents));

  // Without one, a fresh trace is started and returned.
  const fresh = await api("GET", "/v1/documents?limit=1");
  assert.match(fresh.headers.get("traceparent"), TRACE);
  assert.notEqual(fresh.headers.get("traceparent").match(TRACE)[1], traceId);
  // A malformed one is replaced, not echoed.
  const bad = await api("GET", "/v1/documents?limit=1", { headers: { traceparent: "00-zzz-1-01" } });
  assert.match(bad.headers.get("traceparent"), TRACE);
});

test("logs carry request ids, routes and outcomes, and no secrets or document text", async () => {
  const canary = `CANARY-${randomUUID()}`;
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: `secret words ${canary}` });
  await waitForJob((await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: up.json.id, commands: [{ name: "extract" }, { name: "summarize" }] }),
  })).json.id);
  const key = await api("POST", "/v1/keys", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "log check" }),
  });
  await api("GET", "/v1/documents", { key: key.json.secret });
  await api("GET", "/v1/documents", { key: "qk_test_definitelynotavalidkey000000000000" });
  await new Promise((r) => setTimeout(r, 500));
  const log = readFileSync(process.env.QUIRE_LOG_FILE, "utf8");
  for (const secret of [canary, key.json.secret, process.env.QUIRE_ADMIN_KEY, process.env.QUIRE_OPERATOR_KEY, "qk_test_definitelynotavalidkey"]) {
    assert.ok(!log.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
  }
  const lines = jsonLines(log);
  const upload = lines.find((l) => l.msg === "request" && l.request_id === up.headers.get("x-request-id"));
  assert.ok(upload, "one line per request");
  assert.equal(upload.route, "CreateDocument");
  assert.equal(upload.status, 201);
  assert.equal(upload.tenant_id, "ten_dev");
  assert.match(upload.trace_id, /^[0-9a-f]{32}$/);
  assert.ok(lines.some((l) => l.msg === "request" && l.status === 401 && l.error_code === "unauthorized"));
  assert.ok(lines.some((l) => l.msg === "queue message" && l.kind === "job"));
});
