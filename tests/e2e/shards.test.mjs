// Database sharding: the directory (binding DB, also shard 0) says which
// shard holds each tenant's rows; `wrangler dev` runs two (DB, DB_1). New
// tenants go to the emptiest shard, each tenant's queries reach only its
// own, and the operator's move relocates a tenant with a short write
// freeze and nothing lost (read back here from both local databases).
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, localSql, SHARD_DBS, tenantDb, waitForJob } from "./helpers.mjs";

const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
const json = (body) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function newTenant(name) {
  const r = await api("POST", "/v1/tenants", { key: OPERATOR, ...json({ name }) });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.tenant.id, shard: r.json.tenant.shard, key: r.json.owner_key.secret };
}

async function uploadText(key, text) {
  const r = await api("POST", "/v1/documents", { key, headers: { "content-type": "text/plain" }, body: text });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/** Rows of the tenant per table in one local database. */
function rowsIn(db, tenant) {
  const tables = ["documents", "jobs", "audit_log"];
  return localSql(
    tables.map((t) => `(SELECT COUNT(*) FROM ${t} WHERE tenant_id = '${tenant}') AS ${t}`).join(", ").replace(/^/, "SELECT "),
    { db },
  )[0];
}

test("new tenants are spread over the shards, and each tenant's rows are only in its own", async () => {
  const a = await newTenant("Shard A");
  const b = await newTenant("Shard B");
  // The emptiest shard takes the next tenant: two in a row never share
  // one while the other has fewer tenants.
  assert.notEqual(a.shard, b.shard, "consecutive tenants land on different shards");
  assert.equal(tenantDb(a.id), SHARD_DBS[a.shard]);
  const docA = await uploadText(a.key, "alpha's words");
  const docB = await uploadText(b.key, "bravo's words");
  const job = await api("POST", "/v1/jobs", { key: b.key, ...json({ document_id: docB.id, commands: [{ name: "extract" }] }) });
  assert.equal(job.status, 202, job.text);
  assert.equal((await waitForJob(job.json.id, undefined, 30_000, b.key)).status, "succeeded");
  const result = await api("GET", `/v1/jobs/${job.json.id}/result`, { key: b.key });
  assert.match(result.json.text, /bravo's words/);

  // Isolation through the API: neither sees the other's document.
  assertProblem(await api("GET", `/v1/documents/${docB.id}`, { key: a.key }), 404, "not_found");
  assertProblem(await api("GET", `/v1/documents/${docA.id}`, { key: b.key }), 404, "not_found");
  // And on disk: each tenant's rows are in its shard's database, none in
  // the other's.
  for (const t of [a, b]) {
    for (const db of SHARD_DBS) {
      const rows = rowsIn(db, t.id);
      if (db === SHARD_DBS[t.shard]) assert.ok(rows.documents === 1 && rows.jobs === (t === b ? 1 : 0), `${t.id} in ${db}: ${JSON.stringify(rows)}`);
      else assert.deepEqual(rows, { documents: 0, jobs: 0, audit_log: 0 }, `${t.id} has nothing in ${db}`);
    }
  }
  // The directory lists every tenant with its shard.
  const list = await api("GET", "/v1/tenants", { key: OPERATOR });
  const listed = new Map(list.json.data.map((t) => [t.id, t.shard]));
  assert.equal(listed.get(a.id), a.shard);
  assert.equal(listed.get(b.id), b.shard);
});

test("a moved tenant keeps its documents, jobs, results, shares and a verifying audit chain", async () => {
  const t = await newTenant("Mover");
  const doc = await uploadText(t.key, "words that travel between databases");
  const job = await api("POST", "/v1/jobs", { key: t.key, ...json({ document_id: doc.id, commands: [{ name: "extract" }, { name: "stats" }] }) });
  await waitForJob(job.json.id, undefined, 30_000, t.key);
  const user = await api("POST", "/v1/users", { key: t.key, ...json({ email: "mover@example.com", role: "viewer" }) });
  assert.equal(user.status, 201, user.text);
  const share = await api("POST", `/v1/documents/${doc.id}/shares`, { key: t.key, ...json({ grantee: `user:${user.json.id}`, access: "read" }) });
  assert.equal(share.status, 200, share.text);
  const before = await api("GET", "/v1/audit", { key: t.key });
  assert.ok(before.json.data.length > 0, "the tenant has an audit trail");
  const from = t.shard;
  const to = 1 - from;
  const rowsBefore = rowsIn(SHARD_DBS[from], t.id);

  const moved = await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: to }) });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.from, from);
  assert.equal(moved.json.to, to);
  assert.equal(moved.json.old_rows_deleted, true);
  assert.equal(moved.json.rows.documents, 1);
  assert.equal(moved.json.rows.jobs, 1);
  assert.equal(moved.json.rows.document_shares, 1);

  // Everything is where the directory now says, and nothing is left behind.
  assert.equal(tenantDb(t.id), SHARD_DBS[to]);
  const rowsAfter = rowsIn(SHARD_DBS[to], t.id);
  assert.equal(rowsAfter.documents, rowsBefore.documents);
  assert.equal(rowsAfter.jobs, rowsBefore.jobs);
  assert.ok(rowsAfter.audit_log >= rowsBefore.audit_log, JSON.stringify({ rowsBefore, rowsAfter }));
  assert.deepEqual(rowsIn(SHARD_DBS[from], t.id), { documents: 0, jobs: 0, audit_log: 0 }, "the old shard holds nothing of the tenant");

  // Through the API, with the key it had (its cached credential is
  // refreshed by the move): the same document, result, share and log.
  const got = await api("GET", `/v1/documents/${doc.id}`, { key: t.key });
  assert.equal(got.status, 200, got.text);
  const result = await api("GET", `/v1/jobs/${job.json.id}/result`, { key: t.key });
  assert.equal(result.status, 200, result.text);
  assert.match(result.json.text, /travel between databases/);
  const shares = await api("GET", `/v1/documents/${doc.id}/shares`, { key: t.key });
  assert.equal(shares.json.data.length, 1);
  const verify = await api("GET", "/v1/audit/verify", { key: t.key });
  assert.equal(verify.json.valid, true, verify.text);
  assert.ok(verify.json.entries_checked >= before.json.data.length, verify.text);
  // It goes on working there: a new upload and job land in the new shard.
  const next = await uploadText(t.key, "written after the move");
  const job2 = await api("POST", "/v1/jobs", { key: t.key, ...json({ document_id: next.id, commands: [{ name: "extract" }] }) });
  assert.equal((await waitForJob(job2.json.id, undefined, 30_000, t.key)).status, "succeeded");
  assert.equal(rowsIn(SHARD_DBS[to], t.id).documents, 2);
  assert.equal(rowsIn(SHARD_DBS[from], t.id).documents, 0);
  // The entry the move wrote continues the chain.
  const log = await api("GET", "/v1/audit?action=tenant.moved", { key: t.key });
  assert.ok(log.json.data.some((e) => e.action === "tenant.moved"), log.text);
  assert.equal((await api("GET", "/v1/audit/verify", { key: t.key })).json.valid, true);
});

test("a tenant's own owner key cannot move it; a move is refused while work is in flight or to a shard that does not exist", async () => {
  const t = await newTenant("Busy");
  const doc = await uploadText(t.key, "busy words");
  // An open resumable upload is work in flight.
  const open = await api("POST", "/v1/uploads", { key: t.key, ...json({ filename: "big.txt", content_type: "text/plain", size: 10_000_000, sha256: "0".repeat(64) }) });
  assert.equal(open.status, 201, open.text);
  const to = 1 - t.shard;
  const busy = await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: to }) });
  assertProblem(busy, 409, "tenant_busy");
  // The refused move lifted its freeze: the tenant writes again at once.
  assert.equal((await api("GET", `/v1/documents/${doc.id}`, { key: t.key })).status, 200);
  await uploadText(t.key, "still writable");
  assert.equal(tenantDb(t.id), SHARD_DBS[t.shard], "nothing moved");

  assertProblem(await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: 7 }) }), 422, "no_such_shard");
  assertProblem(await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: t.shard }) }), 409, "already_on_shard");
  assertProblem(await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: "1; DROP TABLE jobs" }) }), 422, "invalid_body");
  assertProblem(await api("POST", "/v1/tenants/ten_nobody/move", { key: OPERATOR, ...json({ shard: to }) }), 404, "not_found");
  // Only the operator moves tenants.
  assertProblem(await api("POST", `/v1/tenants/${t.id}/move`, { key: t.key, ...json({ shard: to }) }), 401, "unauthorized");
});

test("while a tenant moves its writes get 503 with Retry-After, its reads go on", async () => {
  const t = await newTenant("Frozen");
  const doc = await uploadText(t.key, "frozen words");
  // The freeze as a move holds it: set in the directory, then the auth
  // epoch bumped (as the move does) by an operator update that changes
  // nothing, so cached credentials are read again.
  const bump = () => api("PATCH", `/v1/tenants/${t.id}`, { key: OPERATOR, ...json({ plan: "standard" }) });
  localSql(`UPDATE tenants SET moving_since = ${Date.now()} WHERE id = '${t.id}'`);
  assert.equal((await bump()).status, 200);
  try {
    const keyResp = await api("POST", "/v1/keys", { key: t.key, ...json({ name: "after freeze", role: "member" }) });
    assertProblem(keyResp, 503, "tenant_moving");
    assert.equal(keyResp.headers.get("retry-after"), "5");
    assert.equal((await api("GET", `/v1/documents/${doc.id}`, { key: t.key })).status, 200, "reads go on");
    assertProblem(await api("POST", "/v1/documents", { key: t.key, headers: { "content-type": "text/plain" }, body: "x" }), 503, "tenant_moving");
    // One move at a time.
    const second = await api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: 1 - t.shard }) });
    assertProblem(second, 409, "move_in_progress");
  } finally {
    localSql(`UPDATE tenants SET moving_since = NULL WHERE id = '${t.id}'`);
    await bump();
  }
  await uploadText(t.key, "thawed");
});

// A write admitted just before the freeze whose row lands after the copy
// was lost: the upload below is let in, then its body stalls while the
// move starts; its row was written to the shard being left after the copy
// had been taken, and deleted with it (or left where no query looks), yet
// the client had its 201. The move now waits for such writes to end.
test("a document whose upload was admitted before a move and finished during it is not lost: the move waits for the write", { timeout: 60_000 }, async () => {
  const t = await newTenant("Racer");
  const size = 1024 * 1024; // read after admission (over 64 KiB), not streamed to storage
  const text = Buffer.alloc(size, "racing words ");
  let release;
  const released = new Promise((r) => (release = r));
  const body = new ReadableStream({
    async start(controller) {
      controller.enqueue(text.subarray(0, 128 * 1024));
      await released;
      controller.enqueue(text.subarray(128 * 1024));
      controller.close();
    },
  });
  const events = [];
  const upload = fetch(`${process.env.QUIRE_URL}/v1/documents`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.key}`, "content-type": "text/plain", "content-length": String(size) },
    body,
    duplex: "half",
  }).then(async (r) => {
    events.push("upload answered");
    return { status: r.status, json: await r.json() };
  });
  await new Promise((r) => setTimeout(r, 1000)); // admitted; its body still arriving
  const to = 1 - t.shard;
  const move = api("POST", `/v1/tenants/${t.id}/move`, { key: OPERATOR, ...json({ shard: to }) }).then((r) => {
    events.push("move answered");
    return r;
  });
  await new Promise((r) => setTimeout(r, 2000));
  release();
  const [uploaded, moved] = await Promise.all([upload, move]);
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.json));
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(events, ["upload answered", "move answered"], "the move waited for the write admitted before it");
  assert.equal(moved.json.rows.documents, 1, moved.text);
  assert.equal(tenantDb(t.id), SHARD_DBS[to]);
  const got = await api("GET", `/v1/documents/${uploaded.json.id}`, { key: t.key });
  assert.equal(got.status, 200, got.text);
  const content = await api("GET", `/v1/documents/${uploaded.json.id}/content`, { key: t.key });
  assert.equal(content.status, 200);
  assert.equal(content.text.length, size);
});
