// OCR in the runtime: images read by Tesseract (Wasm, in the jobs worker)
// through the same upload → job → result path as every other format. The
// OCR tests that are not about the queue read through the jobs worker's
// test route.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
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

/** A 1×1 grey PNG whose header claims `width` × `height` pixels. */
function pngClaiming(width, height) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // 8-bit grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(Buffer.from([0, 200]))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

test("a PNG of a few bytes claiming a 100 000 × 100 000 canvas fails document_too_large before any pixel is allocated", async () => {
  const bomb = pngClaiming(100_000, 100_000);
  assert.ok(bomb.length < 100);
  const doc = await upload("bomb.png", "image/png", bomb);
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "failed");
  assert.equal(job.error.code, "document_too_large");
  // The jobs worker is still there for the next document.
  const [next] = await extractCorpus("fake-text.txt", "text/plain");
  assert.equal(next.status, "succeeded");
});

test("a scanned PDF's image pages (Group 4, and JPEG stored sideways) are decoded and read by OCR in the runtime", async () => {
  // Through the jobs worker's test route: extract_bytes, the function a
  // job's extraction runs, with the real engine, without the queue (the
  // job path with OCR is the next test; the splicing of pages, tests/service/app.rs).
  const pdf = readFileSync(new URL("../../crates/extract/tests/fixtures/scanned.pdf", import.meta.url));
  const r = await api("POST", "/__test/ocr", { headers: { "content-type": "application/pdf" }, body: pdf });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.pages, 3);
  const lines = [
    "A cover page with a text layer.",
    "Scanned pages are read by OCR inside the runtime.",
    "The third page was fed into the scanner sideways.",
  ];
  assert.deepEqual(r.json.text.split("\n\n").map((l) => l.trim()), lines);
  assert.deepEqual(r.json.warnings, []);
});

test("a scanned PDF page stored as JPEG 2000 is decoded and read by OCR in the runtime", async () => {
  const pdf = readFileSync(new URL("../../crates/extract/tests/fixtures/scanned-jpx.pdf", import.meta.url));
  const r = await api("POST", "/__test/ocr", { headers: { "content-type": "application/pdf" }, body: pdf });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.pages, 1);
  for (const line of ["JPEG 2000 scans are decoded for OCR.", "Archives store their pages this way.", "Every word here should be read back."]) {
    assert.ok(r.json.text.includes(line), `${line}: ${r.json.text}`);
  }
  assert.deepEqual(r.json.warnings, []);
});

test("another OCR language: the operator installs French and a French scan reads with its accents, where English drops them", async () => {
  const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
  const scan = readFileSync(new URL("../../crates/extract/tests/fixtures/scanned-fr.pdf", import.meta.url));
  const read = (languages) =>
    api("POST", `/__test/ocr${languages ? `?languages=${languages}` : ""}`, { headers: { "content-type": "application/pdf" }, body: scan });
  const missing = await read("fra");
  assert.equal(missing.status, 422, missing.text);
  const model = readFileSync(new URL("../../node_modules/@tesseract.js-data/fra/4.0.0_best_int/fra.traineddata.gz", import.meta.url));
  // (A small body: refused before it is read, a large one is left on the
  // connection, which the local proxy then answers 503 on the next call.)
  const tenant = await api("PUT", "/v1/admin/ocr-models/fra", { headers: { "content-type": "application/gzip" }, body: model.subarray(0, 64) });
  assert.ok([401, 403].includes(tenant.status), tenant.text);
  const put = await api("PUT", "/v1/admin/ocr-models/fra", { key: OPERATOR, headers: { "content-type": "application/gzip" }, body: model });
  assert.equal(put.status, 201, put.text);
  const listed = await api("GET", "/v1/admin/ocr-models", { key: OPERATOR });
  assert.deepEqual(listed.json.languages, ["eng", "fra"]);
  const french = await read("fra");
  assert.equal(french.status, 200, french.text);
  const english = await read();
  for (const word of ["façon", "entrepôt", "requêtes"]) {
    assert.ok(french.json.text.includes(word), `${word}: ${french.json.text.slice(0, 400)}`);
  }
  assert.ok(!english.json.text.includes("façon"), english.json.text.slice(0, 400));
  // A job asking for a language that is not installed is refused up front
  // (one asking for French is accepted: tests/service/app.rs runs that path).
  const doc = await upload("scanned-fr.pdf", "application/pdf", scan);
  const refused = await api("POST", "/v1/jobs", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract", options: { languages: ["deu"] } }] }),
  });
  assert.equal(refused.status, 422, refused.text);
  assert.equal(refused.json.code, "unsupported_language");
});

test("OCR jobs through the queue: every page of a multi-page TIFF on its own page, and a scanned image's words with confidence, nothing left unread", { timeout: 180_000 }, async () => {
  // 3.9 MB, over the suite's single-request limit: a resumable upload.
  const tiff = corpus("img/layout-parser-paper-combined.tiff");
  const sha256 = createHash("sha256").update(tiff).digest("hex");
  const json = { "content-type": "application/json" };
  const start = await api("POST", "/v1/uploads", {
    headers: json,
    body: JSON.stringify({ filename: "combined.tiff", content_type: "image/tiff", size: tiff.length, sha256 }),
  });
  assert.equal(start.status, 201, start.text);
  const put = await fetch(`${process.env.QUIRE_URL}/v1/uploads/${start.json.id}/parts/1`, {
    method: "PUT",
    headers: { authorization: `Bearer ${process.env.QUIRE_ADMIN_KEY}`, "content-type": "application/octet-stream" },
    body: tiff,
  });
  assert.equal(put.status, 200, await put.text());
  const doc = await api("POST", `/v1/uploads/${start.json.id}/complete`);
  assert.equal(doc.status, 201, doc.text);
  const image = await upload("img/layout-parser-paper-fast.jpg", "image/jpeg");
  const [tiffJob, imageJob] = await Promise.all([createJob(doc.json.id), createJob(image.id)]);

  const job = await waitForJob(tiffJob.id, undefined, 120_000);
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  const result = (await api("GET", `/v1/jobs/${job.id}/result`)).json;
  assert.equal(result.pages, 2);
  for (const page of [1, 2]) {
    const text = result.elements.filter((e) => e.page === page && e.type !== "page_break").map((e) => e.text).join(" ");
    assert.ok(text.replace(/\s+/g, "").length >= 40, `page ${page}: ${text.slice(0, 300)}`);
  }
  const warnings = result.warnings ?? [];
  assert.ok(!warnings.some((w) => /^ocr_(no_text|failed|skipped)/.test(w)), JSON.stringify(warnings));

  const read = await waitForJob(imageJob.id, undefined, 120_000);
  assert.equal(read.status, "succeeded", JSON.stringify(read.error));
  const scanned = (await api("GET", `/v1/jobs/${read.id}/result`)).json;
  for (const words of ["LayoutParser", "Unified Toolkit for Deep", "Document Image Analysis"]) {
    assert.ok(scanned.text.includes(words), `${words}: ${scanned.text.slice(0, 600)}`);
  }
  const confidences = scanned.elements.map((e) => e.ocr_confidence);
  assert.ok(confidences.every((c) => c > 0 && c <= 1), "every element says how sure the engine was");
  assert.ok(scanned.elements.every((e) => e.page === 1));
  assert.ok(!(scanned.warnings ?? []).some((w) => /^ocr_(no_text|failed)/.test(w)), JSON.stringify(scanned.warnings));
});

test("a scanned table drawn with ruling lines comes back as a table: its rules found in the image, the OCR'd words put in their cells", { timeout: 120_000 }, async () => {
  const [job, r] = await extractCorpus("img/table-multi-row-column-cells.png", "image/png");
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  const tables = r.elements.filter((e) => e.type === "table");
  assert.equal(tables.length, 1, JSON.stringify(r.elements));
  const [table] = tables;
  assert.ok(table.ocr_confidence > 0 && table.ocr_confidence <= 1);
  // The box is the grid's, from its top rule (y 37) to its bottom one
  // (y 595): the rules were found, not only words that line up.
  assert.ok(table.bbox[1] <= 40 && table.bbox[3] >= 594, JSON.stringify(table.bbox));
  // Tesseract (Wasm) reads this table's lone digits as nothing, and in
  // the whole page its shaded header too: the cells where ink was left
  // unread are read again one by one, which brings back the header cells
  // of two words or more. What it reads lands in its cells; columns it
  // read nothing of are left out.
  assert.deepEqual(table.rows[0].slice(0, 3), ["Disability Category", "Ballots Completed", "Ballots Incomplete/ Terminated"], JSON.stringify(table.rows));
  assert.equal(table.rows[1].at(-1), "Time to complete", JSON.stringify(table.rows));
  const row = (label) => table.rows.find((cells) => cells[0] === label);
  assert.deepEqual(row("Blind"), ["Blind", "", "", "34.5%, n=1", "1199 sec, n=1"], JSON.stringify(table.rows));
  assert.deepEqual(row("Mobility"), ["Mobility", "", "", "95.4%, n=3", "1416 sec, n=3"], JSON.stringify(table.rows));
  // A cell of two lines keeps both, and no bar read off a rule.
  assert.deepEqual(row("Low Vision"), ["Low Vision", "", "", "98.3% n=2 (97.7%, n=3)", "1716 sec, n=3 (1934 sec, n=2)"]);
  assert.ok(r.markdown.includes("| Blind |  |  | 34.5%, n=1 | 1199 sec, n=1 |"), r.markdown);
});

test("a scanned table set by alignment alone (rules only above and below) comes back as rows of cells; two columns of prose side by side do not", async () => {
  const read = async (name) => {
    const r = await api("POST", "/__test/ocr", { headers: { "content-type": "image/jpeg" }, body: corpus(name) });
    assert.equal(r.status, 200, r.text);
    return r.json.text.split("\n").filter((l) => l.includes("\t"));
  };
  const rows = await read("img/embedded-images-tables.jpg");
  // Table 1: a header of two lines over six rows of seven columns.
  assert.equal(rows.length, 8, rows.join("\n"));
  assert.ok(rows.every((r) => r.split("\t").length === 7), rows.join("\n"));
  assert.ok(rows[0].startsWith("Inhibitor\t"), rows[0]);
  assert.ok(rows.some((r) => r.startsWith("10\t0.0382\t0.0086\t")), rows.join("\n"));
  assert.deepEqual(await read("img/double-column-A.jpg"), []);
});

// A batch that holds workerd's thread for seconds (OCR) while wrangler's
// Node process closes the idle connection the queue broker logs through
// made the broker's next log call fail, and the broker then delivered
// nothing more: every later job stayed `queued`. The gaps put Node's 5 s
// idle close (counted from the last batch's log) inside the OCR batch;
// scripts/loopback-keepalive.cjs is the fix.
test("jobs sent after an OCR batch that held the runtime for seconds are still delivered: the local queue keeps dispatching", { timeout: 240_000 }, async () => {
  const jpeg = corpus("img/layout-parser-paper-fast.jpg");
  const quick = async (label) => {
    const doc = await upload(`${label}.txt`, "text/plain", Buffer.from(`delivered ${label}\n`));
    const job = await waitForJob((await createJob(doc.id)).id);
    assert.equal(job.status, "succeeded", `${label}: ${JSON.stringify(job)}`);
  };
  for (const gapMs of [2500, 3000, 3500, 4000, 4500]) {
    await quick(`before-${gapMs}`);
    await new Promise((r) => setTimeout(r, gapMs));
    // Bytes after the JPEG's end make each a new document (no cached reading).
    const scan = await upload(`scan-${gapMs}.jpg`, "image/jpeg", Buffer.concat([jpeg, Buffer.from(`gap ${gapMs}`)]));
    const read = await waitForJob((await createJob(scan.id)).id, undefined, 60_000);
    assert.equal(read.status, "succeeded", JSON.stringify(read.error));
  }
  await quick("after");
});
