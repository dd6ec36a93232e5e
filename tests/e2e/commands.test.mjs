// Commands beyond extract, the extraction cache and cancellation, through
// HTTP against the real runtime.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { api, callsIn, extractCorpus, assertProblem, upload, waitForJob } from "./helpers.mjs";

async function job(documentId, commands) {
  const resp = await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: documentId, commands }),
  });
  assert.equal(resp.status, 202, resp.text);
  return resp.json;
}

const result = async (id, command) => {
  const r = await api("GET", `/v1/jobs/${id}/result?command=${command}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test("a PDF job chunks by page, counts, finds PII and keywords in one run", async () => {
  const doc = await upload("pdf/layout-parser-paper-fast.pdf", "application/pdf");
  const created = await job(doc.id, [
    { name: "extract", options: { pages: "2" } },
    { name: "chunk", options: { strategy: "page" } },
    { name: "stats" },
    { name: "detect_pii" },
    { name: "keywords", options: { count: 5 } },
    { name: "summarize_extractive" },
  ]);
  assert.equal(created.command_progress.length, 6);
  const done = await waitForJob(created.id);
  assert.equal(done.status, "succeeded", JSON.stringify(done.error));
  assert.ok(done.command_progress.every((c) => c.status === "succeeded"));
  // What the run used, measured in workerd: the PDF's bytes read, pages,
  // and the isolate's Wasm memory.
  assert.ok(done.resources.bytes_read > 0 && done.resources.pages > 0, JSON.stringify(done.resources));
  assert.ok(done.resources.wasm_memory_bytes > 1 << 20, JSON.stringify(done.resources));

  const page2 = await result(done.id, "extract");
  assert.ok(page2.elements.every((e) => (e.page ?? 1) === 2), "only page 2");
  // Every block of a PDF's text layer says where it is on its page:
  // [left, top, right, bottom] in points from the page's top-left corner.
  for (const e of page2.elements.filter((e) => e.type !== "page_break")) {
    const [l, t, r, b] = e.bbox ?? [];
    assert.ok(0 <= l && l < r && r <= 612 && 0 <= t && t < b && b <= 792, JSON.stringify(e).slice(0, 200));
  }
  const stats = await result(done.id, "stats");
  assert.equal(stats.language, "en");
  assert.ok(stats.words > 500, `words ${stats.words}`);
  const chunks = await result(done.id, "chunk");
  assert.equal(chunks.strategy, "page");
  assert.ok(chunks.chunks.every((c) => c.page_start === c.page_end));
  const pii = await result(done.id, "detect_pii");
  assert.ok(Array.isArray(pii.findings));
  const kw = await result(done.id, "keywords");
  assert.equal(kw.keywords.length, 5);
  const summary = await result(done.id, "summarize_extractive");
  assert.equal(summary.sentences.length, 3);
});

test("a PDF's headings come from its type: sizes become Markdown levels, bold body-size lines the level below", async () => {
  const [job, r] = await extractCorpus("pdf/DA-1p.pdf", "application/pdf");
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  const headings = r.elements.filter((e) => e.type === "heading").map((e) => [e.level, e.text]);
  assert.deepEqual(headings.slice(0, 3), [[1, "MAIN GAME"], [2, "CREATURES"], [3, "Abomination"]]);
  assert.ok(r.markdown.startsWith("# MAIN GAME\n\n## CREATURES\n\n### Abomination\n\n"), r.markdown.slice(0, 200));
});

test("a PDF's ruled tables come back cell for cell in workerd, one over three pages joined", async () => {
  const bytes = readFileSync(new URL("../../crates/extract/tests/fixtures/ruled-tables.pdf", import.meta.url));
  const doc = await upload("ruled-tables.pdf", "application/pdf", bytes);
  const created = await job(doc.id, [{ name: "extract" }]);
  const done = await waitForJob(created.id);
  assert.equal(done.status, "succeeded", JSON.stringify(done.error));
  const r = await result(done.id, "extract");
  const tables = r.elements.filter((e) => e.type === "table").map((e) => e.rows);
  assert.equal(tables.length, 3);
  // Cells 3 pt from their rules, a header spanning two columns, wrapped cells.
  assert.deepEqual(tables[0][3], ["Low vision", "5", "98.3% n=2 (97.7%, n=3)", "1716 sec, n=3 (1934 sec, n=2)"]);
  assert.equal(tables[1].length, 61);
  assert.deepEqual(tables[2][5], ["2023", "2,000", "1,860", "16"]);
  assert.ok(r.markdown.includes("| Disability category | Participants | Results |  |\n| --- | --- | --- | --- |"), r.markdown.slice(0, 300));
});

test("redaction replaces e-mail addresses and phone numbers", async () => {
  const doc = await upload("contact.txt", "text/plain", Buffer.from("Reach me at jane.doe@example.org or +1 415 555 0100."));
  const done = await waitForJob((await job(doc.id, [{ name: "redact_pii" }])).id);
  assert.equal(done.status, "succeeded");
  const r = await result(done.id, "redact_pii");
  assert.equal(r.text, "Reach me at [EMAIL] or [PHONE].");
});

test("bad command options are refused with 422 before any job exists", async () => {
  const doc = await upload("x.txt", "text/plain", Buffer.from("x"));
  const resp = await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: doc.id, commands: [{ name: "chunk", options: { max_size: 5 } }] }),
  });
  assertProblem(resp, 422, "invalid_options");
});

test("a job cancelled right after creation ends cancelled and serves no result", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const created = await job(doc.id, [{ name: "extract" }]);
  const cancel = await api("POST", `/v1/jobs/${created.id}/cancel`);
  assert.equal(cancel.status, 202, cancel.text);
  assert.equal(cancel.json.status, "cancelled");
  const after = await waitForJob(created.id, (j) => j.deliveries >= 1);
  assert.equal(after.status, "cancelled");
  assertProblem(await api("POST", `/v1/jobs/${created.id}/cancel`), 409, "job_finished");
  assertProblem(await api("GET", `/v1/jobs/${created.id}/result`), 409, "job_cancelled");
});

test("the events stream reports progress and ends with the finished job", async () => {
  const doc = await upload("norwich-city.txt", "text/plain");
  const created = await job(doc.id, [{ name: "extract" }, { name: "stats" }, { name: "keywords" }]);
  const resp = await fetch(`${process.env.QUIRE_URL}/v1/jobs/${created.id}/events`, {
    headers: { authorization: `Bearer ${process.env.QUIRE_ADMIN_KEY}` },
  });
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get("content-type"), "text/event-stream");
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const frames = [];
  const deadline = Date.now() + 30_000;
  while (!frames.some((f) => f.event === "done") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = raw.match(/^event: (.*)$/m)?.[1];
      const data = raw.match(/^data: (.*)$/m)?.[1];
      if (event) frames.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  const last = frames.at(-1);
  assert.equal(last.event, "done", JSON.stringify(frames.map((f) => f.event)));
  assert.equal(last.data.status, "succeeded");
  assert.equal(last.data.progress, 100);
  const progress = frames.map((f) => f.data.progress);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress never goes back");
});

test("events of an unknown job are 404", async () => {
  assertProblem(await api("GET", "/v1/jobs/job_00000000000000000000000000/events"), 404, "not_found");
});

test("a job with a webhook_url POSTs a signed completion event, retried after a failure", async () => {
  const { createServer } = await import("node:http");
  const { createHmac } = await import("node:crypto");
  const received = [];
  let first = true;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      // Fail the first attempt to prove the retry.
      res.statusCode = first ? 503 : 200;
      first = false;
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  try {
    const secret = (await api("GET", "/v1/webhooks/secret")).json.secret;
    assert.match(secret, /^whsec_/);
    const doc = await upload("fake-text.txt", "text/plain");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const resp = await api("POST", "/v1/jobs", {
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract" }], webhook_url: url }),
    });
    assert.equal(resp.status, 202, resp.text);
    const jobId = resp.json.id;
    const deadline = Date.now() + 30_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(received.length, 2, "one failed attempt, one retry");
    const { headers, body } = received[1];
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key)
      .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
      .digest("base64");
    assert.equal(headers["webhook-signature"], `v1,${expected}`);
    assert.equal(received[0].headers["webhook-id"], headers["webhook-id"], "same message id on retry");
    // The POST continues the trace of the request that created the job.
    assert.match(headers.traceparent ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const event = JSON.parse(body);
    assert.equal(event.type, "job.succeeded");
    assert.equal(event.data.id, jobId);
    let listed;
    while (Date.now() < deadline) {
      listed = await api("GET", `/v1/jobs/${jobId}/webhooks`);
      if (listed.json.data[0]?.status === "succeeded") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(listed.json.data[0].status, "succeeded");
    assert.equal(listed.json.data[0].attempts, 2);
  } finally {
    server.close();
  }
});

test("a job's result and the OpenAPI document carry strong ETags and answer 304 to them, after the access check", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const done = await waitForJob((await job(doc.id, [{ name: "extract" }, { name: "stats" }])).id);
  assert.equal(done.status, "succeeded");
  const first = await api("GET", `/v1/jobs/${done.id}/result?command=stats`);
  assert.equal(first.status, 200);
  const etag = first.headers.get("etag");
  assert.match(etag, /^"job_[0-9a-z]+\.stats"$/);
  const again = await api("GET", `/v1/jobs/${done.id}/result?command=stats`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, "");
  // Another command's result is another representation.
  const other = await api("GET", `/v1/jobs/${done.id}/result?command=extract`, { headers: { "if-none-match": etag } });
  assert.equal(other.status, 200);
  // The ETag is no key: without access there is no 304.
  assertProblem(await api("GET", `/v1/jobs/${done.id}/result?command=stats`, { key: "qk_test_nope", headers: { "if-none-match": etag } }), 401, "unauthorized");
  const spec = await fetch(`${process.env.QUIRE_URL}/openapi.json`);
  const tag = spec.headers.get("etag");
  assert.match(tag, /^"[0-9a-f]{32}"$/);
  await spec.arrayBuffer();
  const cached = await fetch(`${process.env.QUIRE_URL}/openapi.json`, { headers: { "if-none-match": tag } });
  assert.equal(cached.status, 304);
});

test("a result read twice is served the second time from the edge cache, not R2, and only after the access check", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const done = await waitForJob((await job(doc.id, [{ name: "extract" }])).id);
  const reads = [];
  for (let i = 0; i < 2; i++) {
    const r = await api("GET", `/v1/jobs/${done.id}/result`);
    assert.equal(r.status, 200);
    reads.push(r);
  }
  assert.equal(reads[1].text, reads[0].text, "the same bytes");
  await new Promise((r) => setTimeout(r, 500));
  const log = readFileSync(process.env.QUIRE_LOG_FILE, "utf8");
  const second = callsIn(log, reads[1].headers.get("x-request-id"));
  assert.ok(second.some((c) => c.dependency === "cache" && c.op === "hit"), JSON.stringify(second));
  assert.ok(!second.some((c) => c.dependency === "r2"), "no R2 read on a hit");
  // Deleting the document takes its results with it: the job is gone, so
  // the cached copy is never reached (and this data centre's is purged).
  assert.equal((await api("DELETE", `/v1/documents/${doc.id}`)).status, 204);
  assertProblem(await api("GET", `/v1/jobs/${done.id}/result`), 404, "not_found");
});
