// Read replicas (D1's Sessions API): every API response carries the
// bookmark of its D1 session; a client that sends it back starts its next
// request's session from a copy at least that fresh, so it reads its own
// writes wherever it is served. Locally there is one copy, so what this
// shows is the round trip: the header, its shape, a session resumed from
// it, and hostile values refused before they reach D1.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem } from "./helpers.mjs";

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
