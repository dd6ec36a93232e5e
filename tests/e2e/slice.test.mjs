// The upload → job → result slice, through HTTP, for each first extractor,
// with real corpus documents, against workerd with local D1, R2 and Queues.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { api, corpus, createJob, extractCorpus, upload, waitForJob } from "./helpers.mjs";

test("health answers without credentials and ready reports D1, R2 and the queue", async () => {
  const health = await api("GET", "/health", { key: null });
  assert.equal(health.status, 200);
  assert.match(health.headers.get("x-request-id"), /^req_/);
  const ready = await api("GET", "/ready", { key: null });
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(ready.json.checks, { d1: "ok", r2: "ok", queue: "ok" });
});

test("the OpenAPI document is served and lists the document routes", async () => {
  const doc = await api("GET", "/openapi.json", { key: null });
  assert.equal(doc.status, 200);
  assert.equal(doc.json.openapi, "3.1.0");
  assert.ok(doc.json.paths["/v1/documents/{id}/content"].get);
});

const cases = [
  ["fake-text.txt", "text/plain", "Doylestown, PA 18901"],
  ["fake-text-utf-16-be.txt", "text/plain", "Hamburgers are delicious"],
  ["fake-text-utf-16.txt", "text/plain; charset=utf-16", "I love fuzzy blankets"],
  ["README.md", "text/markdown", "The sample docs directory contains the following files:"],
  ["fake-html.html", "text/html", "My First Heading"],
  ["stanley-cups.csv", "text/csv", "Maple Leafs\tTOR\t13"],
  ["stanley-cups.tsv", "text/tab-separated-values", "Flyers\tPHI\t2"],
  ["not-unstructured-payload.json", "application/json", "description: This is sample data #1"],
  ["simple.ndjson", "application/x-ndjson", "metadata.filename: simple.docx"],
  ["fake.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Lorem ipsum dolor sit amet."],
  ["fake-power-point.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "Adding a Bullet Slide"],
  ["stanley-cups.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Maple Leafs\tTOR\t13"],
  ["fake.odt", "application/vnd.oasis.opendocument.text", "Color\tBlue\tRed\tGreen"],
  ["fake-doc.rtf", "application/rtf", "My first paragraph."],
  ["pdf/fake-memo.pdf", "application/pdf", "There were 20,000 bottles of water"],
  ["eml/fake-email.eml", "message/rfc822", "This is a test email to use for unit tests."],
  ["language-docs/eng_spa_mult.epub", "application/epub+zip", "human beings are born free"],
  ["factbook.xml", "application/xml", "United States"],
  ["simple.zip", "application/zip", "stanley-cups.csv"],
];

for (const [name, type, expected] of cases) {
  test(`extracting ${name} (${type}) returns its text`, async () => {
    const [job, result] = await extractCorpus(name, type);
    assert.equal(job.status, "succeeded", JSON.stringify(job));
    assert.equal(job.progress, 100);
    assert.equal(job.attempts, 1);
    assert.ok(job.started_at && job.finished_at);
    assert.ok(result.text.includes(expected), `${name}: ${JSON.stringify(result.text.slice(0, 300))}`);
    assert.equal(result.characters, [...result.text].length);
    assert.ok(result.pages >= 1);
    assert.equal(result.media_type, type.split(";")[0]);
    assert.equal(typeof result.markdown, "string");
    assert.ok(Array.isArray(result.elements) && result.elements.length > 0);
  });
}

test("HTML extraction leaves out scripts and styles", async () => {
  const html = Buffer.from(
    "<html><head><style>body{color:red}</style><script>alert('x')</script></head>" +
      "<body><p>Visible &amp; kept</p></body></html>",
  );
  const doc = await upload("page.html", "text/html", html);
  const job = await waitForJob((await createJob(doc.id)).id);
  const result = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.equal(result.json.text, "Visible & kept");
});

test("legacy Word, Excel, PowerPoint and Outlook files are extracted in the runtime", async () => {
  const xls = readFileSync(new URL("../../crates/extract/tests/fixtures/budget.xls", import.meta.url));
  const cases = [
    ["simple.doc", "application/msword", undefined, "Parrots"],
    ["budget.xls", "application/vnd.ms-excel", xls, "| Servers | 1200 | 0.375 | Grüße, 東京 |"],
    ["fake-power-point.ppt", "application/vnd.ms-powerpoint", undefined, "## Adding a Bullet Slide"],
    ["fake-email-attachment.msg", "application/vnd.ms-outlook", undefined, "Hey this is a fake attachment!"],
  ];
  for (const [name, type, bytes, expected] of cases) {
    const doc = await upload(name, type, bytes);
    const job = await waitForJob((await createJob(doc.id)).id);
    assert.equal(job.status, "succeeded", `${name}: ${JSON.stringify(job.error)}`);
    const result = await api("GET", `/v1/jobs/${job.id}/result`);
    assert.equal(result.status, 200, result.text);
    assert.ok(result.json.markdown.includes(expected), `${name}: ${result.json.markdown}`);
  }
});

test("a password-protected PDF fails its job with encrypted_document", async () => {
  const [job] = await extractCorpus("pdf/password.pdf", "application/pdf");
  assert.equal(job.status, "failed");
  assert.equal(job.error.code, "encrypted_document");
});

test("an invalid JSON document fails its job with malformed_document", async () => {
  const doc = await upload("broken.json", "application/json", corpus("fake-incomplete-json.txt"));
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "failed");
  assert.equal(job.error.code, "malformed_document");
});

test("an uploaded document's metadata and bytes come back unchanged", async () => {
  const bytes = corpus("norwich-city.txt");
  const doc = await upload("norwich-city.txt", "text/plain");
  assert.equal(doc.size_bytes, bytes.length);
  assert.match(doc.sha256, /^[0-9a-f]{64}$/);
  const meta = await api("GET", `/v1/documents/${doc.id}`);
  assert.deepEqual(meta.json, doc);
  const resp = await fetch(`${process.env.QUIRE_URL}/v1/documents/${doc.id}/content`, {
    headers: { authorization: `Bearer ${process.env.QUIRE_ADMIN_KEY}` },
  });
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get("content-type"), "text/plain");
  assert.equal(resp.headers.get("etag"), `"${doc.sha256}"`);
  assert.ok(Buffer.from(await resp.arrayBuffer()).equals(bytes));
});

test("a multipart upload stores the file field with its name and type", async () => {
  const form = new FormData();
  form.append("file", new Blob([corpus("stanley-cups.csv")], { type: "text/csv" }), "cups.csv");
  const resp = await api("POST", "/v1/documents", { body: form });
  assert.equal(resp.status, 201, resp.text);
  assert.equal(resp.json.filename, "cups.csv");
  assert.equal(resp.json.media_type, "text/csv");
  assert.equal(resp.json.size_bytes, corpus("stanley-cups.csv").length);
  assert.equal(resp.headers.get("location"), `/v1/documents/${resp.json.id}`);
});

test("listing walks all documents with a cursor, newest first, each once", async () => {
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push((await upload(`page-${i}.txt`, "text/plain", Buffer.from(`p${i}`))).id);
  const seen = [];
  let route = "/v1/documents?limit=2";
  for (;;) {
    const page = await api("GET", route);
    assert.equal(page.status, 200, page.text);
    assert.ok(page.json.data.length <= 2);
    seen.push(...page.json.data.map((d) => d.id));
    if (!page.json.next_cursor) break;
    route = `/v1/documents?limit=2&cursor=${encodeURIComponent(page.json.next_cursor)}`;
  }
  assert.equal(new Set(seen).size, seen.length, "no document twice");
  assert.deepEqual(seen.slice(0, 3), [...mine].reverse());
});

test("deleting a document removes it, its content and its job results", async () => {
  const [job] = await extractCorpus("fake-text.txt", "text/plain");
  const id = job.document_id;
  const del = await api("DELETE", `/v1/documents/${id}`);
  assert.equal(del.status, 204);
  for (const route of [`/v1/documents/${id}`, `/v1/documents/${id}/content`, `/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/result`]) {
    assert.equal((await api("GET", route)).status, 404, route);
  }
  assert.equal((await api("DELETE", `/v1/documents/${id}`)).status, 404);
});

test("content downloads honour Range, ETag and If-None-Match", async () => {
  const doc = await upload("fake-text.txt", "text/plain");
  const url = `${process.env.QUIRE_URL}/v1/documents/${doc.id}/content`;
  const auth = { authorization: `Bearer ${process.env.QUIRE_ADMIN_KEY}` };
  const part = await fetch(url, { headers: { ...auth, range: "bytes=0-3" } });
  assert.equal(part.status, 206);
  assert.equal(await part.text(), "This");
  assert.equal(part.headers.get("content-range"), `bytes 0-3/${doc.size_bytes}`);
  const etag = part.headers.get("etag");
  const cached = await fetch(url, { headers: { ...auth, "if-none-match": etag } });
  assert.equal(cached.status, 304);
  const outside = await fetch(url, { headers: { ...auth, range: `bytes=${doc.size_bytes + 10}-` } });
  assert.equal(outside.status, 416);
});

test("documents and results are encrypted at rest in R2", async () => {
  const secret = "Quarterly numbers: revenue 4,200,000 and nobody may know it.";
  const doc = await upload("secret.txt", "text/plain", Buffer.from(secret));
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "succeeded");
  const raw = async (key) => {
    const r = await fetch(`${process.env.QUIRE_URL}/__test/raw-object?key=${encodeURIComponent(key)}`);
    assert.equal(r.status, 200, key);
    return Buffer.from(await r.arrayBuffer());
  };
  for (const key of [
    `tenants/ten_dev/documents/${doc.id}/original`,
    `tenants/ten_dev/jobs/${job.id}/results/extract.json`,
  ]) {
    const bytes = await raw(key);
    assert.equal(bytes.subarray(0, 5).toString(), "QENC1", key);
    assert.ok(!bytes.includes(Buffer.from("revenue")), `${key} leaks plaintext`);
  }
  const back = await api("GET", `/v1/documents/${doc.id}/content`);
  assert.equal(back.text, secret);
});

test("the scheduled sweep deletes a document once its expiry has passed", async () => {
  const resp = await api("POST", "/v1/documents?expires_in=1", {
    headers: { "content-type": "text/plain" },
    body: "gone soon",
  });
  assert.equal(resp.status, 201, resp.text);
  assert.ok(resp.json.expires_at);
  await new Promise((r) => setTimeout(r, 1500));
  const run = await fetch(`${process.env.QUIRE_URL}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
  assert.equal(run.status, 200, await run.text());
  assert.equal((await api("GET", `/v1/documents/${resp.json.id}`)).status, 404);
});
