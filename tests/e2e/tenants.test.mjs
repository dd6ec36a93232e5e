// Tenants through HTTP: provisioning by the operator, isolation between
// tenants (ids guessed or leaked are 404), suspension.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, assertProblem, createJob, upload, waitForJob } from "./helpers.mjs";

const OPERATOR = process.env.QUIRE_OPERATOR_KEY;

async function newTenant(name) {
  const resp = await api("POST", "/v1/tenants", {
    key: OPERATOR,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  assert.equal(resp.status, 201, resp.text);
  return resp.json;
}

test("tenant B cannot read, list, download, process, delete or fetch results of tenant A's data", async () => {
  const doc = await upload("fake-text.txt", "text/plain"); // tenant A: the dev tenant
  const job = await waitForJob((await createJob(doc.id)).id);
  const b = (await newTenant("Tenant B")).owner_key.secret;
  for (const route of [
    `/v1/documents/${doc.id}`,
    `/v1/documents/${doc.id}/content`,
    `/v1/jobs/${job.id}`,
    `/v1/jobs/${job.id}/result`,
    `/v1/jobs/${job.id}/events`,
    `/v1/jobs/${job.id}/webhooks`,
  ]) {
    assertProblem(await api("GET", route, { key: b }), 404, "not_found");
  }
  const list = await api("GET", "/v1/documents", { key: b });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.data, []);
  const process = await api("POST", "/v1/jobs", {
    key: b,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract" }] }),
  });
  assertProblem(process, 404, "not_found");
  assertProblem(await api("POST", `/v1/jobs/${job.id}/cancel`, { key: b }), 404, "not_found");
  assertProblem(await api("DELETE", `/v1/documents/${doc.id}`, { key: b }), 404, "not_found");
  // A's document is untouched.
  assert.equal((await api("GET", `/v1/documents/${doc.id}`)).status, 200);
});

test("suspending a tenant refuses all its keys at once, though the isolate had them cached, and resuming restores them", async () => {
  const created = await newTenant("Tenant C");
  const key = created.owner_key.secret;
  // Used a few times: from the second on the isolate has the key cached.
  for (let i = 0; i < 3; i++) assert.equal((await api("GET", "/v1/documents", { key })).status, 200);
  const patch = (status) =>
    api("PATCH", `/v1/tenants/${created.tenant.id}`, {
      key: OPERATOR,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status }),
    });
  assert.equal((await patch("suspended")).json.status, "suspended");
  assertProblem(await api("GET", "/v1/documents", { key }), 403, "tenant_suspended");
  assert.equal((await patch("active")).status, 200);
  assert.equal((await api("GET", "/v1/documents", { key })).status, 200);
});

test("tenant routes refuse tenant keys", async () => {
  assertProblem(await api("GET", "/v1/tenants"), 401, "unauthorized");
});
