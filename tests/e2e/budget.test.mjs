// Hostile PDFs under the per-document budget: a few kilobytes that would
// inflate to tens of megabytes, or fan out into billions of form runs, fail
// their job with a typed document_too_large, and the document stays stored.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_KEY, api, createJob, extractCorpus, upload, waitForJob } from "./helpers.mjs";
import { onePage, stream } from "./pdfs.mjs";

async function failsTooLarge(pdf, mentions) {
  assert.ok(pdf.length < 200 * 1024, `${pdf.length} bytes`);
  const doc = await upload("hostile.pdf", "application/pdf", pdf);
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "failed", JSON.stringify(job));
  assert.equal(job.error.code, "document_too_large", JSON.stringify(job.error));
  assert.match(job.error.message, mentions);
  // Nothing stored is lost: the document is still there, byte for byte.
  const back = await fetch(`${process.env.QUIRE_URL}/v1/documents/${doc.id}/content`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  assert.equal(back.status, 200);
  assert.equal(Buffer.from(await back.arrayBuffer()).compare(pdf), 0);
}

test("a PDF whose page content inflates to 40 MiB fails with document_too_large, not memory", async () => {
  await failsTooLarge(onePage("<< >>", Buffer.alloc(40 * 1024 * 1024, 0x20)), /page's content/);
});

test("a PDF whose object stream inflates to 40 MiB is refused before lopdf unpacks it", async () => {
  const packed = Buffer.alloc(40 * 1024 * 1024, 0x20);
  packed.write("5 0 << /Padding true >>");
  const objstm = stream("/Type /ObjStm /N 1 /First 4", packed);
  await failsTooLarge(onePage("<< >>", Buffer.from(""), [objstm]), /object stream/);
});

test("a PDF whose forms draw each other 200-fold per level stops at the form-run budget", async () => {
  // Page draws X0 200 times, X0 draws X1 200 times, … X3 draws X4: 1.6e9 runs unbounded.
  const draws = (name) => Buffer.from(`/${name} Do\n`.repeat(200));
  const forms = [1, 2, 3, 4].map((n) =>
    stream(`/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X${n} ${5 + n} 0 R >> >>`, draws(`X${n}`)),
  );
  forms.push(stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1]", Buffer.from("BT ET")));
  await failsTooLarge(onePage("<< /XObject << /X0 5 0 R >> >>", draws("X0"), forms), /form XObject runs/);
});

test("a scanned page whose indexed colour space names itself as its base succeeds without OCR instead of overflowing the stack", async () => {
  // Object 6 is [/Indexed 6 0 R 1 <…>]: followed, it recursed without end.
  const image = stream("/Type /XObject /Subtype /Image /Width 96 /Height 64 /ColorSpace 6 0 R /BitsPerComponent 1", Buffer.alloc(800));
  const pdf = onePage("<< /XObject << /Im0 5 0 R >> >>", Buffer.from("q 612 0 0 792 0 0 cm /Im0 Do Q"), [
    image,
    Buffer.from("[/Indexed 6 0 R 1 <FFFFFF000000>]"),
  ]);
  const doc = await upload("self-indexed.pdf", "application/pdf", pdf);
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  const result = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.ok(result.json.warnings.some((w) => w.startsWith("no_text_layer")), JSON.stringify(result.json.warnings));
  // The jobs worker is still there for the next document.
  const [next] = await extractCorpus("fake-text.txt", "text/plain");
  assert.equal(next.status, "succeeded");
});

test("a scanned page whose colour table packs 8 MiB is not inflated: the job succeeds without reading it", async () => {
  const image = stream("/Type /XObject /Subtype /Image /Width 96 /Height 64 /ColorSpace [/Indexed /DeviceRGB 1 6 0 R] /BitsPerComponent 1", Buffer.alloc(800));
  const pdf = onePage("<< /XObject << /Im0 5 0 R >> >>", Buffer.from("q 612 0 0 792 0 0 cm /Im0 Do Q"), [image, stream("", Buffer.alloc(8 * 1024 * 1024))]);
  assert.ok(pdf.length < 200 * 1024, `${pdf.length} bytes`);
  const doc = await upload("table-bomb.pdf", "application/pdf", pdf);
  const job = await waitForJob((await createJob(doc.id)).id);
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  const result = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.ok(result.json.warnings.some((w) => w.startsWith("no_text_layer")), JSON.stringify(result.json.warnings));
});

test("a page of 60 000 one-letter lines fails document_too_large before it holds a record per line", async () => {
  const content = Buffer.from(`BT /F1 12 Tf 72 700 Td ${"(a) Tj 0 -20 Td ".repeat(60_000)}ET`);
  await failsTooLarge(onePage("<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>", content), /50000 lines/);
});
