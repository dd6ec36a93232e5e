// OCR in the runtime: images read by Tesseract (Wasm, in the jobs worker)
// through the same upload → job → result path as every other format.
// Last in the run on purpose, and the OCR job last in the file: an OCR
// job keeps its queue batch for seconds, and the local queue broker has
// stopped dispatching after such batches (README, "Open: a local broker
// that stops dispatching"); there it can stop nothing after it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api, corpus, createJob, extractCorpus, upload, waitForJob } from "./helpers.mjs";

test("an image that is not what it says is refused; a broken one fails its job typed", async () => {
  const jpeg = corpus("img/layout-parser-paper-fast.jpg");
  const mislabeled = await api("POST", "/v1/documents", {
    headers: { "content-type": "image/png", "x-filename": "x.png" },
    body: jpeg,
  });
  assert.equal(mislabeled.status, 415, mislabeled.text);
  // A PNG cut off inside its pixel data (JPEG decoders read cut-off
  // files leniently, as a partial picture).
  const png = corpus("img/DA-1p.png").subarray(0, 5000);
  const doc = await upload("cut.png", "image/png", png);
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "failed");
  assert.equal(job.error.code, "malformed_document");
});

test("a scanned page image is read by OCR in the runtime: words, confidence, nothing left unread", async () => {
  const [job, result] = await extractCorpus("img/layout-parser-paper-fast.jpg", "image/jpeg");
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  for (const words of ["LayoutParser", "Unified Toolkit for Deep", "Document Image Analysis"]) {
    assert.ok(result.text.includes(words), `${words}: ${result.text.slice(0, 600)}`);
  }
  const confidences = result.elements.map((e) => e.ocr_confidence);
  assert.ok(confidences.every((c) => c > 0 && c <= 1), "every element says how sure the engine was");
  assert.ok(result.elements.every((e) => e.page === 1));
  const warnings = result.warnings ?? [];
  assert.ok(!warnings.some((w) => /^ocr_(no_text|failed)/.test(w)), JSON.stringify(warnings));
});
