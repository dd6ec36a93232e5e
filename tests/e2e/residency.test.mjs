// Data residency: a tenant created with `data_region: "eu"` is placed on
// the EU shard (DB_2, SHARD_REGIONS = "2=eu"), and its documents and
// results are kept only in the EU bucket binding (DOCUMENTS_EU, bound with
// jurisdiction "eu"); another tenant's stay out of it. Read here from both
// local buckets and all three local databases.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, localSql, SHARD_DBS, waitForJob } from "./helpers.mjs";

const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
const json = (body) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const raw = (key, bucket) =>
  fetch(`${process.env.QUIRE_URL}/__test/raw-object?key=${encodeURIComponent(key)}&bucket=${bucket}`);

async function newTenant(body) {
  const r = await api("POST", "/v1/tenants", { key: OPERATOR, ...json(body) });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.tenant.id, tenant: r.json.tenant, key: r.json.owner_key.secret };
}

/** A document and its extract job, finished; the objects they made. */
async function documentWithResult(t, text) {
  const up = await api("POST", "/v1/documents", { key: t.key, headers: { "content-type": "text/plain" }, body: text });
  assert.equal(up.status, 201, up.text);
  const job = await api("POST", "/v1/jobs", { key: t.key, ...json({ document_id: up.json.id, commands: [{ name: "extract" }] }) });
  assert.equal(job.status, 202, job.text);
  assert.equal((await waitForJob(job.json.id, undefined, 30_000, t.key)).status, "succeeded");
  return {
    doc: up.json.id,
    job: job.json.id,
    keys: [`tenants/${t.id}/documents/${up.json.id}/original`, `tenants/${t.id}/jobs/${job.json.id}/results/extract.json`],
  };
}

test("an eu tenant's documents and results exist only in the EU bucket, its rows only in the EU shard", async () => {
  const eu = await newTenant({ name: "EU customer", data_region: "eu" });
  assert.equal(eu.tenant.data_region, "eu");
  assert.equal(eu.tenant.shard, 2, "placed on the EU shard");
  const other = await newTenant({ name: "Anywhere customer" });
  assert.equal(other.tenant.data_region, undefined);
  assert.notEqual(other.tenant.shard, 2, "a tenant with no region stays off the EU shard");

  const mine = await documentWithResult(eu, "Données personnelles, conservées en Europe.");
  const theirs = await documentWithResult(other, "Data kept wherever.");
  // Through the API, everything works as for any tenant (the gate, in the
  // EU jurisdiction, included).
  const result = await api("GET", `/v1/jobs/${mine.job}/result`, { key: eu.key });
  assert.equal(result.status, 200, result.text);
  assert.match(result.json.text, /conservées en Europe/);
  const content = await api("GET", `/v1/documents/${mine.doc}/content`, { key: eu.key });
  assert.equal(content.status, 200);
  assert.match(content.text, /Données personnelles/);
  // Its gate answered (limits, usage, the audit chain): the upload's
  // audit entry is there and the chain verifies.
  const audit = await api("GET", "/v1/audit?action=document.created", { key: eu.key });
  assert.ok(audit.json.data.length >= 1, audit.text);
  assert.equal((await api("GET", "/v1/audit/verify", { key: eu.key })).json.valid, true);
  const usage = await api("GET", "/v1/usage", { key: eu.key });
  assert.ok(usage.json.usage.requests.used >= 3, usage.text);

  for (const key of mine.keys) {
    assert.equal((await raw(key, "DOCUMENTS_EU")).status, 200, `${key} is in the EU bucket`);
    assert.equal((await raw(key, "DOCUMENTS")).status, 404, `${key} is not in the main bucket`);
  }
  for (const key of theirs.keys) {
    assert.equal((await raw(key, "DOCUMENTS")).status, 200, `${key} is in the main bucket`);
    assert.equal((await raw(key, "DOCUMENTS_EU")).status, 404, `${key} is not in the EU bucket`);
  }
  // Its rows: in the EU shard's database only.
  for (const db of SHARD_DBS) {
    const [rows] = localSql(`SELECT (SELECT COUNT(*) FROM documents WHERE tenant_id = '${eu.id}') AS documents, ` +
      `(SELECT COUNT(*) FROM jobs WHERE tenant_id = '${eu.id}') AS jobs`, { db });
    const want = db === "DB_2" ? { documents: 1, jobs: 1 } : { documents: 0, jobs: 0 };
    assert.deepEqual(rows, want, db);
  }

  // It never leaves: no move out of the region, none into it.
  assertProblem(await api("POST", `/v1/tenants/${eu.id}/move`, { key: OPERATOR, ...json({ shard: 0 }) }), 422, "region_mismatch");
  assertProblem(await api("POST", `/v1/tenants/${other.id}/move`, { key: OPERATOR, ...json({ shard: 2 }) }), 422, "region_mismatch");

  // A master-key rotation reaches the EU bucket too: its rewrap pass
  // goes through the EU tenant's objects (here already under the active
  // key), the main pass through the others'.
  const rewrapEu = await api("POST", "/v1/admin/rewrap", { key: OPERATOR, ...json({ region: "eu", limit: 500 }) });
  assert.equal(rewrapEu.status, 200, rewrapEu.text);
  assert.ok(rewrapEu.json.checked >= mine.keys.length && rewrapEu.json.failed.length === 0, rewrapEu.text);
  assertProblem(await api("POST", "/v1/admin/rewrap", { key: OPERATOR, ...json({ region: "fedramp" }) }), 422, "region_unavailable");

  // Erased, it leaves nothing in the EU bucket either.
  const erase = await api("DELETE", "/v1/tenant", { key: eu.key, ...json({ confirm: eu.id }) });
  assert.equal(erase.status, 202, erase.text);
  const sweep = await fetch(`${process.env.QUIRE_URL}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
  assert.equal(sweep.status, 200);
  for (const key of mine.keys) assert.equal((await raw(key, "DOCUMENTS_EU")).status, 404, `${key} erased`);
  for (const key of theirs.keys) assert.equal((await raw(key, "DOCUMENTS")).status, 200, `${key} untouched`);
});

test("a region no shard serves, or not a region, is refused when creating a tenant", async () => {
  assertProblem(await api("POST", "/v1/tenants", { key: OPERATOR, ...json({ name: "x", data_region: "fedramp" }) }), 422, "region_unavailable");
  for (const bad of ["us", "EU", "", 7, null]) {
    const r = await api("POST", "/v1/tenants", { key: OPERATOR, ...json({ name: "x", data_region: bad }) });
    assert.equal(r.status, 422, `${JSON.stringify(bad)}: ${r.text}`);
  }
});
