// Exactly-once in effect under duplicate queue delivery, and key lifecycle.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, createJob, upload, waitForJob } from "./helpers.mjs";

test("a job delivered twice by the queue runs once", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "succeeded");
  const first = await api("GET", `/v1/jobs/${job.id}/result`);

  const again = await api("POST", `/__test/jobs/${job.id}/redeliver`, { key: null });
  assert.equal(again.status, 202, again.text);
  const after = await waitForJob(job.id, (j) => j.deliveries >= 2);
  assert.equal(after.deliveries, 2, "the duplicate was delivered");
  assert.equal(after.attempts, 1, "but the job did not run again");
  assert.equal(after.finished_at, job.finished_at);
  const second = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.equal(second.text, first.text);
});

test("a created key works at once and is refused right after revocation", async () => {
  const created = await api("POST", "/v1/keys", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "e2e member", role: "member" }),
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.headers.get("cache-control"), "no-store");
  const { id, secret, prefix } = created.json;
  assert.match(secret, /^qk_test_[0-9a-z]{32}$/);
  assert.ok(secret.startsWith(prefix));

  assert.equal((await api("GET", "/v1/documents", { key: secret })).status, 200);
  assertProblem(await api("GET", "/v1/keys", { key: secret }), 403, "forbidden");
  const listed = await api("GET", "/v1/keys");
  assert.ok(listed.json.data.some((k) => k.id === id));
  assert.ok(!listed.text.includes(secret), "the secret is never shown again");

  assert.equal((await api("DELETE", `/v1/keys/${id}`)).status, 204);
  assertProblem(await api("GET", "/v1/documents", { key: secret }), 401, "unauthorized");
  assertProblem(await api("DELETE", `/v1/keys/${id}`), 404, "not_found");
});
