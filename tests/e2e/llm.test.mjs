// LLM commands end to end: wrangler dev calls the fake OpenAI-compatible
// server started by run.mjs (scripts/fake-llm.mjs), which the tests steer:
// faults (429, 500, timeouts, cut-off and invalid answers) and counters.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { api, assertProblem, waitForJob } from "./helpers.mjs";

const LLM = process.env.QUIRE_FAKE_LLM;
const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
const control = async (c) => (await fetch(`${LLM}/control`, { method: "POST", body: JSON.stringify(c) })).json();
const stats = async () => (await fetch(`${LLM}/stats`)).json();
const calls = async (model) => (await stats()).by_model[model]?.calls ?? 0;

const TEXT =
  "Invoice 2024-117 from Acme Tools to Quire Ltd. Total due: 1200 EUR by 31 March. " +
  "The warranty on the supplied turbine lasts five years from installation. Payment by bank transfer.";

async function doc(text = `${TEXT} Ref ${randomUUID()}.`, key) {
  const r = await api("POST", "/v1/documents", { key, headers: { "content-type": "text/plain" }, body: text });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

async function run(documentId, commands, key) {
  const r = await api("POST", "/v1/jobs", {
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: documentId, commands }),
  });
  assert.equal(r.status, 202, r.text);
  return waitForJob(r.json.id, undefined, 60_000, key);
}

async function result(jobId, command, key) {
  const r = await api("GET", `/v1/jobs/${jobId}/result?command=${command}`, { key });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test("each LLM command answers in its shape, with model, tokens and cost", async () => {
  await control({ reset: true });
  const id = await doc();
  const schema = { type: "object", required: ["total"], properties: { total: { type: "number" }, currency: { type: "string" } } };
  const commands = [
    { name: "translate", options: { target_language: "French" } },
    { name: "extract_fields", options: { schema } },
    { name: "ask", options: { question: "How long is the turbine warranty?" } },
  ];
  const job = await run(id, commands);
  assert.equal(job.status, "succeeded", JSON.stringify(job));
  const t = await result(job.id, "translate");
  assert.match(t.translation, /^\[French\] Invoice/);
  assert.equal(t.llm.model, "fake/small");
  const f = await result(job.id, "extract_fields");
  assert.equal(typeof f.fields.total, "number");
  assert.equal(f.llm.tier, "large", "field extraction is routed to the large tier");
  const a = await result(job.id, "ask");
  assert.match(a.answer, /passage 1/);
  assert.equal(a.citations[0].passage, 1);
  for (const r of [t, f, a]) {
    assert.ok(r.llm.input_tokens > 0 && r.llm.output_tokens > 0 && r.llm.cost_usd > 0, JSON.stringify(r.llm));
    assert.equal(r.llm.estimated, false);
  }
  assert.ok(job.command_progress.every((c) => c.llm && c.llm.input_tokens > 0));
  const s = await stats();
  assert.equal(s.calls, 3);
  assert.equal(s.input_tokens, t.llm.input_tokens + f.llm.input_tokens + a.llm.input_tokens, "our counts are the provider's");
  const usage = await api("GET", "/v1/usage");
  assert.ok(usage.json.usage.llm_tokens.used >= s.input_tokens + s.output_tokens);
});

test("commands of one job share a call, and repeats are served from the cache", async () => {
  await control({ reset: true });
  const id = await doc();
  const commands = [
    { name: "summarize", options: { length: "short" } },
    { name: "classify", options: { labels: ["invoice", "letter", "contract"] } },
  ];
  const first = await run(id, commands);
  assert.equal(first.status, "succeeded", JSON.stringify(first));
  assert.equal(await calls("small"), 1, "one batched call for two commands");
  const c = await result(first.id, "classify");
  assert.equal(c.label, "invoice");
  assert.equal(c.llm.batched, true);
  const again = await run(id, commands);
  assert.equal(again.status, "succeeded");
  assert.equal((await stats()).calls, 1, "the repeat made no call");
  const cached = await result(again.id, "summarize");
  assert.equal(cached.llm.cached, true);
  assert.equal(cached.llm.input_tokens, 0);
});

test("429s, 500s and timeouts are retried; cut-off answers fall back; invalid JSON is repaired", async () => {
  await control({ reset: true });
  await control({ model: "small", faults: ["429", "500"] });
  let job = await run(await doc(), [{ name: "summarize" }]);
  assert.equal(job.status, "succeeded", JSON.stringify(job));
  let r = await result(job.id, "summarize");
  assert.equal(r.llm.model, "fake/small");
  assert.equal(r.llm.calls, 3);
  assert.equal(await calls("small"), 3);

  await control({ model: "small", faults: ["timeout"] });
  job = await run(await doc(), [{ name: "summarize" }]);
  r = await result(job.id, "summarize");
  assert.equal(r.llm.model, "fake/small");
  assert.match(r.llm.failures[0], /no answer within 3000 ms/);

  await control({ model: "small", faults: ["truncated"] });
  job = await run(await doc(), [{ name: "summarize" }]);
  r = await result(job.id, "summarize");
  assert.equal(r.llm.model, "fake/small-b", "the next model of the chain answered");
  assert.match(r.llm.failures[0], /cut off/);

  await control({ model: "small", faults: ["invalid_json"] });
  job = await run(await doc(), [{ name: "summarize" }]);
  r = await result(job.id, "summarize");
  assert.equal(r.llm.model, "fake/small");
  assert.match(r.llm.failures[0], /repairing/);

  await control({ model: "small", faults: ["no_usage"] });
  job = await run(await doc(), [{ name: "summarize" }]);
  r = await result(job.id, "summarize");
  assert.equal(r.llm.estimated, true, "usage the provider did not report is estimated and flagged");
});

test("with every model down, summaries degrade, other commands fail typed, and circuits open", async () => {
  await control({ reset: true });
  for (const model of ["small", "small-b", "large", "large-b"]) await control({ model, faults: Array(12).fill("500") });
  const id = await doc();
  const job = await run(id, [{ name: "summarize" }, { name: "ask", options: { question: "What is the total due?" } }]);
  assert.equal(job.status, "succeeded", JSON.stringify(job));
  const s = await result(job.id, "summarize");
  assert.equal(s.llm.degraded, true);
  assert.ok(s.summary.length > 20);
  const a = await result(job.id, "ask");
  assert.equal(a.llm.degraded, true);
  assert.equal(a.answer, null);
  assert.match(a.citations[0].text, /Total due/);

  const failed = await run(await doc(), [{ name: "classify", options: { labels: ["invoice", "letter"] } }]);
  assert.equal(failed.status, "failed");
  assert.equal(failed.error.code, "llm_unavailable");

  const ready = await api("GET", "/ready", { key: null });
  assert.equal(ready.json.llm_circuits["fake/small"], "open", JSON.stringify(ready.json));
  const before = (await stats()).calls;
  await run(await doc(), [{ name: "summarize" }]);
  assert.equal((await stats()).calls, before, "open circuits are not called");

  // After the cooldown (10 s here) one probe goes out; its success closes
  // the circuit.
  await control({ reset: true });
  await new Promise((r) => setTimeout(r, 10_200));
  const healed = await run(await doc(), [{ name: "summarize" }]);
  assert.equal((await result(healed.id, "summarize")).llm.model, "fake/small");
  assert.equal((await api("GET", "/ready", { key: null })).json.llm_circuits["fake/small"], "closed");
});

test("a tenant over its token budget is refused before any call is made", async () => {
  await control({ reset: true });
  const t = await api("POST", "/v1/tenants", {
    key: OPERATOR,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Tiny LLM budget", plan: "llm-tiny" }),
  });
  const key = t.json.owner_key.secret;
  const first = await run(await doc(undefined, key), [{ name: "summarize" }], key);
  assert.equal(first.status, "succeeded");
  const before = (await stats()).calls;
  const r = await api("POST", "/v1/jobs", {
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: await doc(undefined, key), commands: [{ name: "summarize" }] }),
  });
  assertProblem(r, 402, "budget_exceeded");
  assert.equal((await stats()).calls, before);
});
