// Large PDFs read in parts (the suite's server reads PDFs over 1.5 MB in
// parts of 25 pages): each part a queue message of its own, read by range
// from R2 in workerd, merged in page order; the parts' rows and stored
// readings are gone once the job has its result. Hostile structure in a
// large PDF is a typed failure, never a stuck job.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, createJob, localSql, tenantDb, upload, waitForJob } from "./helpers.mjs";
import { manyPages, pdfOf } from "./pdfs.mjs";

const raw = (key) => fetch(`${process.env.QUIRE_URL}/__test/raw-object?key=${encodeURIComponent(key)}`);

test("a 110-page PDF over the split size is read in five parts, merged in page order", { timeout: 120_000 }, async () => {
  const pdf = manyPages(110, 15_000);
  assert.ok(pdf.length > 1_500_000 && pdf.length < 2 * 1024 * 1024, `${pdf.length} bytes`);
  const doc = await upload("many-pages.pdf", "application/pdf", pdf);
  const job = await createJob(doc.id);
  const done = await waitForJob(job.id, undefined, 90_000);
  assert.equal(done.status, "succeeded", JSON.stringify(done));
  const result = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.equal(result.status, 200, result.text);
  assert.equal(result.json.pages, 110);
  const said = [...result.json.text.matchAll(/page (\d+) says hello\./g)].map((m) => Number(m[1]));
  assert.deepEqual(said, Array.from({ length: 110 }, (_, i) => i + 1), "every page once, in order");
  assert.ok(!result.json.text.includes("% "), "content-stream comments are not text");
  // Read in parts: five ranges of 25 pages, each done.
  const db = tenantDb("ten_dev");
  const parts = localSql(`SELECT part, first_page, last_page, status, bytes_read FROM job_parts WHERE job_id = '${job.id}' ORDER BY part`, { db });
  assert.deepEqual(parts.map((p) => [p.first_page, p.last_page, p.status]),
    [[1, 25, "done"], [26, 50, "done"], [51, 75, "done"], [76, 100, "done"], [101, 110, "done"]]);
  // Each part read a part of the file, not all of it.
  for (const p of parts) assert.ok(p.bytes_read < pdf.length / 2, `part ${p.part} read ${p.bytes_read} of ${pdf.length} bytes`);
  // The parts' readings are deleted once merged.
  assert.equal((await raw(`tenants/ten_dev/jobs/${job.id}/results/extract.json`)).status, 200);
  assert.equal((await raw(`tenants/ten_dev/jobs/${job.id}/parts/0.json`)).status, 404);
});

test("a large PDF whose page tree loops fails typed instead of hanging its job", { timeout: 120_000 }, async () => {
  // The tree's only kid is the tree itself; 1.6 MB of padding make it large.
  const pad = Buffer.alloc(1_600_000, 0x20);
  const pdf = pdfOf([
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [2 0 R] /Count 3 >>"),
    Buffer.concat([Buffer.from(`<< /Length ${pad.length} >>\nstream\n`), pad, Buffer.from("\nendstream")]),
  ]);
  const doc = await upload("looped-tree.pdf", "application/pdf", pdf);
  const job = await createJob(doc.id);
  const done = await waitForJob(job.id, undefined, 90_000);
  assert.equal(done.status, "failed", JSON.stringify(done));
  assert.equal(done.error.code, "malformed_document", JSON.stringify(done.error));
});
