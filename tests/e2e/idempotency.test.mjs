// Idempotency keys against the real Durable Object, under concurrency.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { api, assertProblem, upload } from "./helpers.mjs";

const count = async () => {
  let n = 0;
  let route = "/v1/documents?limit=100";
  for (;;) {
    const page = await api("GET", route);
    n += page.json.data.length;
    if (!page.json.next_cursor) return n;
    route = `/v1/documents?limit=100&cursor=${page.json.next_cursor}`;
  }
};

// A 5xx is retried with the same key, as clients should: under this burst
// wrangler's dev proxy now and then loses its connection to workerd
// ("Connection reset by peer" in its debug log) and answers a POST with
// 503 "Your worker restarted mid-request"; the worker never saw it.
async function withRetries(call) {
  for (let i = 0; ; i++) {
    const r = await call();
    if (r.status < 500 || i === 5) return r;
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

test("50 concurrent identical uploads with one key create exactly one document", async () => {
  const before = await count();
  const key = randomUUID();
  const body = Buffer.from(`idempotent upload ${key}`);
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      withRetries(() =>
        api("POST", "/v1/documents", {
          headers: { "content-type": "text/plain", "idempotency-key": key },
          body,
        }),
      ),
    ),
  );
  const created = results.filter((r) => r.status === 201);
  const inFlight = results.filter((r) => r.status === 409);
  assert.equal(created.length + inFlight.length, 50, results.map((r) => r.status).join(","));
  assert.ok(created.length >= 1);
  assert.equal(new Set(created.map((r) => r.json.id)).size, 1, "one document id");
  inFlight.forEach((r) => assertProblem(r, 409, "idempotency_in_flight"));
  assert.equal(await count(), before + 1);
  // A later retry replays the first response byte for byte.
  const replay = await api("POST", "/v1/documents", {
    headers: { "content-type": "text/plain", "idempotency-key": key },
    body,
  });
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  const original = created.find((r) => r.headers.get("idempotent-replayed") === null);
  assert.equal(replay.text, original.text);
});

test("50 concurrent identical job creations with one key create exactly one job", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const key = randomUUID();
  const body = JSON.stringify({ document_id: doc.id, commands: [{ name: "stats" }] });
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      withRetries(() =>
        api("POST", "/v1/jobs", { headers: { "content-type": "application/json", "idempotency-key": key }, body }),
      ),
    ),
  );
  const accepted = results.filter((r) => r.status === 202);
  const others = results.filter((r) => r.status !== 202 && r.status !== 409);
  assert.deepEqual(others.map((r) => `${r.status} ${r.text}`), [], "only 202 or 409");
  assert.equal(new Set(accepted.map((r) => r.json.id)).size, 1, "one job id");
});

test("reusing a key for a different request is 422", async () => {
  const key = randomUUID();
  const post = (text) =>
    api("POST", "/v1/documents", { headers: { "content-type": "text/plain", "idempotency-key": key }, body: text });
  assert.equal((await post("first")).status, 201);
  assertProblem(await post("second"), 422, "idempotency_key_reused");
});
