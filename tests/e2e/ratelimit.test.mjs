// Rate limiting in Durable Objects, exactly, through HTTP; backpressure.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem } from "./helpers.mjs";

test("200 concurrent requests against a limit of 100 allow exactly 100, then it refills", async () => {
  // 100 per 600 s: one more every 6 s, slow enough that the burst itself
  // cannot earn an extra slot (it takes 1 to 3.5 s here, the longer when
  // the machine is busy: a 3 s refill was once overtaken).
  const created = await api("POST", "/v1/keys", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "limited", role: "member", rate_limits: { read: "100/600" } }),
  });
  assert.equal(created.status, 201, created.text);
  const key = created.json.secret;
  const start = Date.now();
  const results = await Promise.all(
    Array.from({ length: 200 }, () => api("GET", "/v1/documents?limit=1", { key })),
  );
  const burstMs = Date.now() - start;
  const ok = results.filter((r) => r.status === 200);
  const limited = results.filter((r) => r.status === 429);
  assert.equal(ok.length, 100, `burst took ${burstMs} ms`);
  assert.equal(limited.length, 100);
  assertProblem(limited[0], 429, "rate_limited");
  assert.ok(Number(limited[0].headers.get("retry-after")) >= 1);
  assert.match(ok[0].headers.get("ratelimit-policy"), /"read";q=100;w=600/);
  assert.match(ok[0].headers.get("ratelimit"), /"read";r=\d+;t=\d+/);

  // Slots come back every 6 s from the first request: at +15 s, exactly 2.
  await new Promise((r) => setTimeout(r, Math.max(0, start + 15000 - Date.now())));
  const after = [];
  for (let i = 0; i < 5; i++) after.push((await api("GET", "/v1/documents?limit=1", { key })).status);
  assert.deepEqual(after, [200, 200, 429, 429, 429], `burst took ${burstMs} ms`);
});

test("the OpenAPI document is limited per client address and says so", async () => {
  const resp = await api("GET", "/openapi.json", { key: null });
  assert.equal(resp.status, 200);
  assert.match(resp.headers.get("ratelimit-policy"), /"public";q=\d+;w=\d+/);
});

test("usage counts this month's requests and stored bytes in the usage object", async () => {
  const { upload } = await import("./helpers.mjs");
  const before = (await api("GET", "/v1/usage")).json;
  assert.match(before.period, /^\d{4}-\d{2}$/);
  const doc = await upload("norwich-city.txt", "text/plain");
  const after = (await api("GET", "/v1/usage")).json;
  assert.equal(after.usage.stored_bytes.used - before.usage.stored_bytes.used, doc.size_bytes);
  assert.equal(after.usage.requests.used - before.usage.requests.used, 2, "the upload and this read");
  assert.ok(after.usage.requests.budget > 0);
  await api("DELETE", `/v1/documents/${doc.id}`);
  const freed = (await api("GET", "/v1/usage")).json;
  assert.equal(freed.usage.stored_bytes.used, before.usage.stored_bytes.used);
});
