// Read replicas (D1's Sessions API): every API response carries the
// bookmark of its D1 session; a client that sends it back starts its next
// request's session from a copy at least that fresh, so it reads its own
// writes wherever it is served. Locally there is one copy, so what this
// shows is the round trip: the header, its shape, a session resumed from
// it, and hostile values refused before they reach D1.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, SHARD_DBS } from "./helpers.mjs";

const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+)+$/;

test("a write's bookmark, sent back, reads that write; each response carries the session's bookmark", async () => {
  const created = await api("POST", "/v1/documents", {
    headers: { "content-type": "text/plain", "x-filename": "bookmarked.txt" },
    body: "read after write",
  });
  assert.equal(created.status, 201, created.text);
  const afterWrite = created.headers.get("quire-bookmark");
  assert.match(afterWrite, BOOKMARK);
  const read = await api("GET", `/v1/documents/${created.json.id}`, { headers: { "quire-bookmark": afterWrite } });
  assert.equal(read.status, 200, read.text);
  assert.equal(read.json.filename, "bookmarked.txt");
  // The session resumed from the write's bookmark ends at least there.
  const afterRead = read.headers.get("quire-bookmark");
  assert.match(afterRead, BOOKMARK);
  assert.ok(afterRead >= afterWrite, `${afterRead} is not older than ${afterWrite}`);
  // A later write moves the bookmark on.
  const deleted = await api("DELETE", `/v1/documents/${created.json.id}`, { headers: { "quire-bookmark": afterRead } });
  assert.equal(deleted.status, 204);
  assert.ok(deleted.headers.get("quire-bookmark") > afterWrite, "a later write, a later bookmark");
  const gone = await api("GET", `/v1/documents/${created.json.id}`, { headers: { "quire-bookmark": deleted.headers.get("quire-bookmark") } });
  assertProblem(gone, 404, "not_found");
});

test("a hostile Quire-Bookmark is refused with 422 before it reaches D1", async () => {
  for (const bad of ["first-unconstrained", "' OR 1=1 --", "z".repeat(40), "0".repeat(200)]) {
    assertProblem(await api("GET", "/v1/documents", { headers: { "quire-bookmark": bad } }), 422, "invalid_bookmark");
  }
});

test("a tenant on the second shard gets a bookmark per database, and one sent back reads its write", async () => {
  const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
  const json = (body) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  // Tenants alternate between the two shards: make them until one is on shard 1.
  let t;
  for (let i = 0; i < 3 && !(t?.tenant.shard === 1); i++) {
    t = (await api("POST", "/v1/tenants", { key: OPERATOR, ...json({ name: `replica ${i}` }) })).json;
  }
  assert.equal(t.tenant.shard, 1, "a tenant on shard 1");
  const key = t.owner_key.secret;
  const created = await api("POST", "/v1/documents", { key, headers: { "content-type": "text/plain" }, body: "on shard one" });
  assert.equal(created.status, 201, created.text);
  const mark = created.headers.get("quire-bookmark");
  const [directory, shard] = mark.split(",");
  assert.match(directory, BOOKMARK, mark);
  assert.match(shard, BOOKMARK, mark);
  const read = await api("GET", `/v1/documents/${created.json.id}`, { key, headers: { "quire-bookmark": mark } });
  assert.equal(read.status, 200, read.text);
  // Each place is at least as fresh as the one sent (an untouched
  // database keeps the client's place).
  const back = read.headers.get("quire-bookmark").split(",");
  assert.ok(back[0] >= directory && back[1] >= shard, `${back} vs ${mark}`);
  // More places than databases, or a hostile one, are refused.
  const tooMany = Array(SHARD_DBS.length + 1).fill(shard).join(",");
  assertProblem(await api("GET", "/v1/documents", { key, headers: { "quire-bookmark": tooMany } }), 422, "invalid_bookmark");
  assertProblem(await api("GET", "/v1/documents", { key, headers: { "quire-bookmark": `${directory},x` } }), 422, "invalid_bookmark");
});
