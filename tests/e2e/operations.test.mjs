// Operations through the real runtime: per-route metrics rolled up in D1,
// per-call log lines tied to their request, and a D1 backup taken through
// the API, restored into a fresh local database, row for row.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { api, callsIn, localSql, SHARD_DBS, waitForJob } from "./helpers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OPERATOR = process.env.QUIRE_OPERATOR_KEY;

function wrangler(args, persist) {
  return execFileSync(path.join(root, "node_modules", ".bin", "wrangler"),
    [...args, "--local", "--persist-to", persist],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } }).toString();
}

function query(persist, sql, db = "DB") {
  const out = JSON.parse(wrangler(["d1", "execute", db, "--json", "--command", sql], persist));
  return out[0].results;
}

test("the operator sees per-route percentiles, error rates and job figures", async () => {
  for (let i = 0; i < 6; i++) assert.equal((await api("GET", "/v1/documents?limit=1")).status, 200);
  assert.equal((await api("GET", "/v1/documents/doc_00000000000000000000000000")).status, 404);
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: "Metrics, please." });
  const job = await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: up.json.id, commands: [{ name: "extract" }] }),
  });
  assert.equal((await waitForJob(job.json.id)).status, "succeeded");
  // Rollups are written after the response (METRICS_FLUSH_SECONDS=0 here).
  await new Promise((r) => setTimeout(r, 500));

  assert.equal((await api("GET", "/v1/admin/metrics")).status, 401, "tenant keys are refused");
  const m = await api("GET", "/v1/admin/metrics?window=30", { key: OPERATOR });
  assert.equal(m.status, 200, m.text);
  const route = (name) => m.json.routes.find((r) => r.route === name);
  const list = route("GET ListDocuments");
  assert.ok(list && list.requests >= 6, JSON.stringify(m.json.routes));
  assert.equal(list.server_errors, 0);
  assert.ok(list.p50_ms >= 1 && list.p95_ms >= list.p50_ms && list.p99_ms >= list.p95_ms, JSON.stringify(list));
  assert.ok(route("GET GetDocument").client_errors >= 1);
  assert.ok(m.json.jobs.outcomes.succeeded >= 1, JSON.stringify(m.json.jobs));
  const text = m.json.jobs.formats.find((f) => f.media_type === "text/plain");
  assert.ok(text.processing_ms.count >= 1 && text.processing_ms.p50 >= 0, JSON.stringify(text));
  assert.ok(m.json.storage.documents >= 1 && m.json.storage.bytes > 0);

  const slo = await api("GET", "/v1/admin/slo", { key: OPERATOR });
  assert.equal(slo.status, 200, slo.text);
  const names = slo.json.objectives.map((o) => o.slo.name);
  assert.deepEqual(names, ["availability", "read_latency", "job_completion"]);
  const avail = slo.json.objectives[0];
  assert.ok(avail.total >= 7 && avail.budget_remaining <= 1, JSON.stringify(avail));
});

test("every D1, R2 and queue call is logged with its request, and nothing secret", async () => {
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: "Call logs." });
  const requestId = up.headers.get("x-request-id");
  await new Promise((r) => setTimeout(r, 500));
  const calls = callsIn(readFileSync(process.env.QUIRE_LOG_FILE, "utf8"), requestId);
  const deps = new Set(calls.map((c) => c.dependency));
  assert.ok(deps.has("d1") && deps.has("r2"), JSON.stringify(calls));
  const put = calls.find((c) => c.dependency === "r2" && c.op === "put");
  assert.equal(put.outcome, "ok");
  assert.equal(typeof put.latency_ms, "number");
  assert.ok(calls.some((c) => c.op === "INSERT documents"), JSON.stringify(calls.map((c) => c.op)));
  for (const c of calls) assert.ok(!JSON.stringify(c).includes("Call logs."), "no document text");
});

test("a backup restores into a fresh database with every row", { timeout: 120_000 }, async () => {
  // Something of everything: a tenant's document, job, key and audit entries.
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: "Back me up." });
  await waitForJob((await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: up.json.id, commands: [{ name: "stats" }] }),
  })).json.id);
  assert.equal((await api("POST", "/v1/admin/backups")).status, 401);
  const made = await api("POST", "/v1/admin/backups", { key: OPERATOR });
  assert.equal(made.status, 201, made.text);
  const listed = await api("GET", "/v1/admin/backups", { key: OPERATOR });
  assert.equal(listed.json.data[0].id, made.json.id);
  const sql = await fetch(`${process.env.QUIRE_URL}/v1/admin/backups/${made.json.id}`, {
    headers: { authorization: `Bearer ${OPERATOR}` },
  });
  assert.equal(sql.status, 200);
  const dump = await sql.text();

  const fresh = mkdtempSync(path.join(tmpdir(), "quire-restore-"));
  try {
    const file = path.join(fresh, "backup.sql");
    writeFileSync(file, dump);
    wrangler(["d1", "migrations", "apply", "DB"], fresh);
    wrangler(["d1", "execute", "DB", "--file", file], fresh);
    const tables = Object.keys(made.json.tables);
    for (const t of ["tenants", "api_keys", "documents", "jobs", "audit_log", "users"]) assert.ok(tables.includes(t), t);
    const counts = (persist) => query(persist, `SELECT ${tables.map((t) => `(SELECT COUNT(*) FROM "${t}") AS "${t}"`).join(", ")}`)[0];
    const restored = counts(fresh);
    for (const t of tables) assert.equal(restored[t], made.json.tables[t], `rows of ${t}`);
    // Same rows, not just as many.
    const doc = query(fresh, `SELECT id, sha256, size_bytes FROM documents WHERE id = '${up.json.id}'`);
    assert.deepEqual(doc, [{ id: up.json.id, sha256: up.json.sha256, size_bytes: up.json.size_bytes }]);
    // The restored audit chain still verifies: every hash carried over.
    // The backup holds every shard's rows (restored here into one).
    const order = "ORDER BY tenant_id, seq";
    const chainSql = `SELECT tenant_id, seq, hash FROM audit_log ${order}`;
    // The live databases through localSql, which waits out SQLITE_BUSY
    // (the running server may hold a write lock at that instant).
    const live = SHARD_DBS.flatMap((db) => localSql(chainSql, { db }));
    const key = (e) => `${e.tenant_id} ${String(e.seq).padStart(12, "0")}`;
    const restoredChain = query(fresh, chainSql);
    const byTenant = new Map(live.map((e) => [key(e), e.hash]));
    for (const e of restoredChain) assert.equal(byTenant.get(key(e)), e.hash, key(e));
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});
