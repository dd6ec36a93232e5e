// Large downloads through the real runtime: streamed from R2 a chunk of
// encrypted segments at a time, and ranges that read only their segments.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { api, BASE, ADMIN_KEY, UPLOAD_LIMIT } from "./helpers.mjs";

function bigText(n) {
  const line = "The quick brown fox jumps over the lazy dog 0123456789.\n";
  return Buffer.from(line.repeat(Math.ceil(n / line.length)).slice(0, n));
}

const calls = (requestId) => readFileSync(process.env.QUIRE_LOG_FILE, "utf8")
  .split("\n")
  .filter((l) => l.includes('"msg":"call"') && l.includes(requestId))
  .map((l) => JSON.parse(l.slice(l.indexOf("{"))));

test("a large document downloads streamed, whole and in ranges, read by segments", async () => {
  const size = Math.min(UPLOAD_LIMIT - 1000, 1_900_000);
  const text = bigText(size);
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: text });
  assert.equal(up.status, 201, up.text);
  const url = `${BASE}/v1/documents/${up.json.id}/content`;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };

  // identity: no transfer compression, so the length is the stored one.
  const full = await fetch(url, { headers: { ...auth, "accept-encoding": "identity" } });
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("content-length"), String(size));
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(body.length, size);
  assert.ok(body.equals(text), "the streamed bytes are the uploaded bytes");
  await new Promise((r) => setTimeout(r, 300));
  const fullCalls = calls(full.headers.get("x-request-id")).filter((c) => c.dependency === "r2");
  // Header + one read per 1 MiB chunk, never the whole object at once.
  assert.ok(fullCalls.every((c) => c.op === "get range"), JSON.stringify(fullCalls.map((c) => c.op)));
  assert.ok(fullCalls.length >= 3, `${fullCalls.length} reads`);

  const part = await fetch(url, { headers: { ...auth, range: "bytes=1000000-1000099" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 1000000-1000099/${size}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(text.subarray(1_000_000, 1_000_100)));
  await new Promise((r) => setTimeout(r, 300));
  const partCalls = calls(part.headers.get("x-request-id")).filter((c) => c.dependency === "r2");
  assert.deepEqual(partCalls.map((c) => c.op), ["get range", "get range"], "the header, then one or two segments");

  const tail = await fetch(url, { headers: { ...auth, range: "bytes=-70000" } });
  assert.equal(tail.status, 206);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(text.subarray(size - 70_000)));
});
