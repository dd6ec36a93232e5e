// Privacy through HTTP: the tenant export, and tenant erasure proven by
// reading the local D1 and R2 directly afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, localSql, SHARD_DBS, waitForJob } from "./helpers.mjs";

const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
const json = (body) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const sql = (command) => localSql(command);

async function rawObject(key) {
  return fetch(`${process.env.QUIRE_URL}/__test/raw-object?key=${encodeURIComponent(key)}`);
}

test("an erased tenant leaves nothing in D1 or R2 but its tombstone; the export held its metadata", async () => {
  const created = await api("POST", "/v1/tenants", { key: OPERATOR, ...json({ name: "To be erased" }) });
  const tenant = created.json.tenant.id;
  const owner = created.json.owner_key.secret;
  const up = await api("POST", "/v1/documents", { key: owner, headers: { "content-type": "text/plain" }, body: "private words" });
  assert.equal(up.status, 201, up.text);
  const job = await api("POST", "/v1/jobs", { key: owner, ...json({ document_id: up.json.id, commands: [{ name: "extract" }, { name: "stats" }] }) });
  await waitForJob(job.json.id, undefined, 30_000, owner);
  const user = await api("POST", "/v1/users", { key: owner, ...json({ email: "gone@example.com", role: "viewer" }) });
  await api("POST", `/v1/documents/${up.json.id}/shares`, { key: owner, ...json({ grantee: `user:${user.json.id}`, access: "read" }) });
  const keys = [
    `tenants/${tenant}/documents/${up.json.id}/original`,
    `tenants/${tenant}/jobs/${job.json.id}/results/extract.json`,
    `tenants/${tenant}/jobs/${job.json.id}/results/stats.json`,
  ];
  for (const k of keys) assert.equal((await rawObject(k)).status, 200, k);

  const exported = await api("GET", "/v1/export", { key: owner });
  assert.equal(exported.status, 200, exported.text);
  assert.equal(exported.json.tenant.id, tenant);
  assert.deepEqual(exported.json.documents.map((d) => d.id), [up.json.id]);
  assert.equal(exported.json.jobs[0].id, job.json.id);
  assert.equal(exported.json.users[0].email, "gone@example.com");
  assert.equal(exported.json.shares[0].document_id, up.json.id);
  assert.ok(!exported.text.includes(owner), "no secret in the export");

  assertProblem(await api("DELETE", "/v1/tenant", { key: owner, ...json({ confirm: "ten_other" }) }), 422, "confirmation_mismatch");
  const erase = await api("DELETE", "/v1/tenant", { key: owner, ...json({ confirm: tenant }) });
  assert.equal(erase.status, 202, erase.text);
  assertProblem(await api("GET", "/v1/documents", { key: owner }), 403, "tenant_suspended");

  const run = await fetch(`${process.env.QUIRE_URL}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
  assert.equal(run.status, 200);
  for (const k of keys) assert.equal((await rawObject(k)).status, 404, `${k} is gone`);
  const tables = ["documents", "jobs", "api_keys", "users", "document_shares", "audit_log", "webhook_deliveries", "identity_providers"];
  // Nothing in any database: the directory, and every shard (the
  // tenant's own included).
  for (const db of SHARD_DBS) {
    const counts = localSql(
      `SELECT ${tables.map((t) => `(SELECT COUNT(*) FROM ${t} WHERE tenant_id = '${tenant}') AS ${t}`).join(", ")}, ` +
        `(SELECT COUNT(*) FROM tenants WHERE id = '${tenant}') AS tenants`,
      { db },
    )[0];
    for (const t of [...tables, "tenants"]) assert.equal(counts[t], 0, `${db} ${t}: ${JSON.stringify(counts)}`);
  }
  const [tomb] = sql(`SELECT * FROM tenant_tombstones WHERE tenant_id = '${tenant}'`);
  assert.ok(tomb.audit_entries > 0 && /^[0-9a-f]{64}$/.test(tomb.audit_head), JSON.stringify(tomb));
  const after = await api("GET", "/v1/documents", { key: owner });
  assertProblem(after, 401, "unauthorized");
  // Other tenants are untouched.
  assert.equal((await api("GET", "/v1/documents")).status, 200);
});
