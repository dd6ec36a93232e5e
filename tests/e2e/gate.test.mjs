// The request gate under attack, through HTTP only: each test is an attack
// that once worked against the running service, and shows it no longer does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32, deflateRawSync } from "node:zlib";
import { ADMIN_KEY, api, assertProblem, upload } from "./helpers.mjs";

const json = (body, extra = {}) => ({ headers: { "content-type": "application/json", ...extra }, body: JSON.stringify(body) });

async function newKey(body, key = ADMIN_KEY) {
  const r = await api("POST", "/v1/keys", { key, ...json(body) });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

test("a key admin cannot mint a key with scopes it lacks", async () => {
  const narrow = await newKey({ name: "keys only", role: "admin", scopes: "keys:admin" });
  const child = await newKey({ name: "child", role: "admin" }, narrow.secret);
  assert.equal(child.scopes, "keys:admin");
  assertProblem(await api("GET", "/v1/audit", { key: child.secret }), 403, "forbidden");
  assertProblem(await api("GET", "/v1/users", { key: child.secret }), 403, "forbidden");
  const asked = await api("POST", "/v1/keys", { key: narrow.secret, ...json({ name: "x", role: "admin", scopes: "tenant:admin" }) });
  assertProblem(asked, 403, "forbidden");
});

test("a narrow key admin cannot take over a full admin key by rotating or revoking it", async () => {
  const full = await newKey({ name: "full admin", role: "admin" });
  const narrow = await newKey({ name: "keys only", role: "admin", scopes: "keys:admin" });
  const rotated = await api("POST", `/v1/keys/${full.id}/rotate`, { key: narrow.secret, ...json({ grace_seconds: 0 }) });
  assertProblem(rotated, 403, "forbidden");
  assert.ok(!rotated.text.includes("qk_"), "no secret in the refusal");
  assertProblem(await api("DELETE", `/v1/keys/${full.id}`, { key: narrow.secret }), 403, "forbidden");
  // The full key is untouched and still works.
  assert.equal((await api("GET", "/v1/audit?limit=1", { key: full.secret })).status, 200);
  // A wrong-typed grace period is refused, not read as the default.
  for (const grace of [null, "0", -1, 1.5]) {
    assertProblem(await api("POST", `/v1/keys/${full.id}/rotate`, json({ grace_seconds: grace })), 422, "invalid_body");
  }
  assert.equal((await api("GET", `/v1/keys/${full.id}`)).json.rotated_to, null);
});

test("a viewer cannot replay an owner's key creation through its Idempotency-Key", async () => {
  const viewer = await newKey({ name: "viewer", role: "viewer" });
  const body = { name: "ci deploy", role: "admin" };
  const key = `create-ci-${Date.now()}`;
  const owner = await api("POST", "/v1/keys", json(body, { "idempotency-key": key }));
  assert.equal(owner.status, 201, owner.text);
  const replay = await api("POST", "/v1/keys", { key: viewer.secret, ...json(body, { "idempotency-key": key }) });
  assertProblem(replay, 403, "forbidden");
  assert.ok(!replay.text.includes(owner.json.secret), "the owner's secret is not replayed");
  // Another admin credential gets its own request, not the owner's answer.
  const other = await newKey({ name: "other admin", role: "admin" });
  const second = await api("POST", "/v1/keys", { key: other.secret, ...json(body, { "idempotency-key": key }) });
  assert.equal(second.status, 201, second.text);
  assert.notEqual(second.json.secret, owner.json.secret);
  // The owner's own retry still replays its answer.
  const again = await api("POST", "/v1/keys", json(body, { "idempotency-key": key }));
  assert.equal(again.json.secret, owner.json.secret);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
});

/** A body of `total` zero bytes, produced lazily; `sent()` says how much was pulled. */
function lazyZeros(total) {
  let pulled = 0;
  const chunk = new Uint8Array(1 << 20);
  const stream = new ReadableStream({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, sent: () => pulled };
}

/**
 * Sends a streamed body; the status and problem code, or "closed" when the
 * server answered and closed the connection before the client finished
 * sending (undici then reports the request as terminated).
 */
async function sendStreamed(route, body, headers = {}) {
  try {
    const resp = await fetch(`${process.env.QUIRE_URL}${route}`, { method: "POST", headers, body, duplex: "half" });
    const text = await resp.text();
    let code;
    try {
      code = JSON.parse(text).code;
    } catch {
      // not a problem document
    }
    return { status: resp.status, code };
  } catch (e) {
    if (e.message === "terminated" || e.cause?.code === "UND_ERR_SOCKET" || e.cause?.code === "ECONNRESET") return { status: "closed" };
    throw e;
  }
}

/**
 * The worker refused with `status`/`code` before reading the body. What
 * the client sees of it: that answer; or the connection closed under its
 * remaining upload; or, under `wrangler dev` only, a 503 of the local proxy
 * with no problem body of ours (still streaming the upload to the worker,
 * the proxy loses the answer; its log shows the worker's status beside it).
 */
function assertRefusedUnread(resp, status, code) {
  if (resp.status === "closed") return;
  if (resp.status === 503 && resp.code === undefined) return;
  assert.deepEqual(resp, { status, code });
}

test("an unauthenticated chunked body is answered without being read", async () => {
  const body = lazyZeros(400 << 20);
  const resp = await sendStreamed("/health", body.stream);
  assertRefusedUnread(resp, 405, "method_not_allowed");
  // The answer came long before the 400 MB were sent (buffers on the way
  // take some, never the whole).
  assert.ok(body.sent() < 200 << 20, `${body.sent()} bytes pulled before the answer`);
});

test("a chunked body past a route's limit is refused at the limit, after authentication", async () => {
  const body = lazyZeros(64 << 20);
  const resp = await sendStreamed("/v1/keys", body.stream, { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" });
  assertRefusedUnread(resp, 413, "payload_too_large");
  assert.ok(body.sent() < 48 << 20, `${body.sent()} bytes pulled before the answer`);
  // And without a credential, nothing is read past the small pre-auth allowance.
  const anon = lazyZeros(64 << 20);
  const refused = await sendStreamed("/v1/documents", anon.stream, { "content-type": "text/plain" });
  assertRefusedUnread(refused, 401, "unauthorized");
  assert.ok(anon.sent() < 48 << 20, `${anon.sent()} bytes pulled before the answer`);
});

/** A ZIP of one member, stored (method 0) or deflated (method 8). */
function zipOf(name, data, deflate) {
  const packed = deflate ? deflateRawSync(data) : data;
  const nameBytes = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(deflate ? 8 : 0, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(deflate ? 8 : 0, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const cdOffset = local.length + nameBytes.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBytes, packed, central, nameBytes, end]);
}

test("a small zip whose nested archive inflates past the scan budget is refused, not inflated", async () => {
  // 40 MB, mostly zeros with a sprinkling of random bytes: it deflates
  // about 30:1, under the ratio limit, so only the budget stops it.
  const data = Buffer.alloc(40 << 20);
  let seed = 7;
  for (let i = 0; i < data.length; i += 1 + (seed % 61)) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed & 0xff;
  }
  const inner = zipOf("d.bin", data, false);
  const outer = zipOf("x.zip", inner, true);
  assert.ok(outer.length < 2 << 20, `upload of ${outer.length} bytes fits the e2e limit`);
  const resp = await api("POST", "/v1/documents", { headers: { "content-type": "application/zip", "x-filename": "nested.zip" }, body: outer });
  assertProblem(resp, 422, "scan_budget_exceeded");
  // What was stored before is still there.
  const doc = await upload("fake-text.txt", "text/plain");
  assert.equal((await api("GET", `/v1/documents/${doc.id}`)).status, 200);
});

test("webhook URLs naming a local or private address in any spelling are refused", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  for (const url of [
    "http://127.0.0.2:9999\\@localhost/x",
    "https://2130706433/",
    "https://127.1/",
    "https://0x7f.0.0.1/",
    "https://LOCALHOST./",
    "https://[::ffff:127.0.0.1]/",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.1/",
    "https://printer.local/",
    "https://user:pw@hooks.example.com/",
  ]) {
    const resp = await api("POST", "/v1/jobs", json({ document_id: doc.id, commands: [{ name: "extract" }], webhook_url: url }));
    assertProblem(resp, 422, "invalid_webhook_url");
  }
});

// Under wrangler dev the proxy hands the worker an empty stream here; a
// deployed worker may get no body at all, which the edge also takes as empty.
test("a POST with no body and no Content-Length is taken as empty, as curl -X POST sends it", async () => {
  const key = await newKey({ name: "to rotate" });
  const { hostname, port } = new URL(process.env.QUIRE_URL);
  const net = await import("node:net");
  const raw = await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `POST /v1/keys/${key.id}/rotate HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
          `Authorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n\r\n`,
      );
    });
    let data = "";
    socket.on("data", (d) => (data += d));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
  assert.match(raw, /^HTTP\/1\.1 201/, raw.slice(0, 300));
});

test("eight clients writing at once lose no audit entry: the chain is whole and counts every action", async () => {
  const made = await api("POST", "/v1/tenants", { key: process.env.QUIRE_OPERATOR_KEY, ...json({ name: "audit race" }) });
  assert.equal(made.status, 201, made.text);
  const owner = made.json.owner_key.secret;
  const CLIENTS = 8;
  const EACH = 12;
  const client = async (c) => {
    for (let i = 0; i < EACH; i++) {
      const r = await api("POST", "/v1/documents", { key: owner, headers: { "content-type": "text/plain" }, body: `client ${c} document ${i}` });
      assert.equal(r.status, 201, r.text);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  // Entries are appended after each response: allow them a moment to land.
  const expected = CLIENTS * EACH + 1; // and the operator's tenant.created
  let verified;
  for (let attempt = 0; attempt < 50; attempt++) {
    verified = (await api("GET", "/v1/audit/verify", { key: owner })).json;
    if (verified.entries_checked >= expected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(verified.valid, true, JSON.stringify(verified));
  assert.equal(verified.entries_checked, expected, JSON.stringify(verified));
  const listed = await api("GET", "/v1/audit?limit=200", { key: owner });
  const created = listed.json.data.filter((e) => e.action === "document.created");
  assert.equal(created.length, CLIENTS * EACH);
  const seqs = listed.json.data.map((e) => e.seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: expected }, (_, i) => i + 1), "numbered without gaps");
});

test("a revoked key is refused on its next request, though the isolate had it cached", async () => {
  const key = await newKey({ name: "cached", role: "viewer" });
  for (let i = 0; i < 5; i++) assert.equal((await api("GET", "/v1/me", { key: key.secret })).status, 200);
  assert.equal((await api("DELETE", `/v1/keys/${key.id}`)).status, 204);
  assertProblem(await api("GET", "/v1/me", { key: key.secret }), 401, "unauthorized");
});

test("a disabled user's key is refused on its next request, though the isolate had it cached", async () => {
  const user = await api("POST", "/v1/users", json({ email: `cached-${Date.now()}@example.com`, role: "member" }));
  assert.equal(user.status, 201, user.text);
  const key = await newKey({ name: "user key", user_id: user.json.id });
  for (let i = 0; i < 5; i++) assert.equal((await api("GET", "/v1/me", { key: key.secret })).status, 200);
  const off = await api("PATCH", `/v1/users/${user.json.id}`, json({ status: "disabled" }));
  assert.equal(off.status, 200, off.text);
  assertProblem(await api("GET", "/v1/me", { key: key.secret }), 401, "unauthorized");
  // And back: enabling the user again lets the same key in.
  assert.equal((await api("PATCH", `/v1/users/${user.json.id}`, json({ status: "active" }))).status, 200);
  assert.equal((await api("GET", "/v1/me", { key: key.secret })).status, 200);
});

test("a key holds at most five event streams at once: a sixth is refused while they run", async () => {
  const doc = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: "streams ".repeat(5000) });
  assert.equal(doc.status, 201, doc.text);
  const running = (j) => ["queued", "running"].includes(j.status);
  for (let attempt = 1; attempt <= 4; attempt++) {
    const job = (await api("POST", "/v1/jobs", json({ document_id: doc.json.id, commands: [{ name: "extract" }, { name: "chunk" }, { name: "stats" }, { name: "keywords" }] }))).json;
    // A key of its own each round: streams cut off below keep their slots
    // until their lease lapses.
    const watcher = await newKey({ name: `watcher ${attempt}`, role: "admin" });
    const controllers = [];
    const open = async () => {
      const c = new AbortController();
      controllers.push(c);
      return fetch(`${process.env.QUIRE_URL}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${watcher.secret}` }, signal: c.signal });
    };
    try {
      const streams = [];
      for (let i = 0; i < 5; i++) streams.push(await open());
      assert.ok(streams.every((s) => s.status === 200), streams.map((s) => s.status).join());
      const sixth = await open();
      // Only a verdict while the five still run: a job that ended frees
      // their slots, and the round is tried again with a new job.
      const still = (await api("GET", `/v1/jobs/${job.id}`)).json;
      if (!running(still)) continue;
      assert.equal(sixth.status, 429, "a sixth stream while five run");
      assert.equal((await sixth.json()).code, "rate_limited");
      return;
    } finally {
      for (const c of controllers) c.abort();
    }
  }
  assert.fail("every job ended before its streams could be counted");
});
