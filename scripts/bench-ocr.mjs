// `npm run bench:ocr`: OCR quality and speed inside the runtime against
// the tesseract CLI, in the same run. The corpus PDFs that have a text
// layer are rendered to PNG (pdftoppm, page 1, at 150 and 300 dpi); each
// image is read by the jobs worker in `wrangler dev` (decoded and OCR'd
// in workerd, as a job reads it) and by `tesseract` (Debian). Both are
// scored by word F1 against the page's text layer (pdftotext); times are
// per page, the runtime's round trip (with the PNG upload and decode)
// against the CLI process's. At 300 dpi each page is also sent as a
// scanned PDF (one image over the page: a JPEG, then Flate grey samples),
// read as a job reads one: the image taken out of the PDF, decoded, OCR'd.
// Last, the corpus's page images (img/*.png, *.jpg): the table rows each
// reads as.
// Needs poppler-utils and tesseract-ocr (Debian packages).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { startServer } from "./local-server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pdfs = path.resolve(root, "..", "shared", "corpus", "example-docs", "pdf");
const MAX_PAGES = Number(process.env.OCR_BENCH_PAGES ?? 12);

for (const tool of ["pdftoppm", "pdftotext", "tesseract"]) {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`]);
  } catch {
    console.error(`bench:ocr needs ${tool}: apt-get install poppler-utils tesseract-ocr`);
    process.exit(2);
  }
}

const words = (text) => {
  const counts = new Map();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
};
function f1(ours, ref) {
  const a = words(ours), b = words(ref);
  let common = 0, na = 0, nb = 0;
  for (const [w, n] of a) { na += n; common += Math.min(n, b.get(w) ?? 0); }
  for (const n of b.values()) nb += n;
  if (!na && !nb) return 1;
  if (!common) return 0;
  const p = common / na, r = common / nb;
  return (2 * p * r) / (p + r);
}

const work = mkdtempSync(path.join(tmpdir(), "quire-ocr-"));
const pages = [];
for (const name of readdirSync(pdfs).filter((n) => n.endsWith(".pdf")).sort()) {
  const file = path.join(pdfs, name);
  let ref;
  try {
    ref = execFileSync("pdftotext", ["-f", "1", "-l", "1", file, "-"], { encoding: "utf8" });
  } catch {
    continue; // encrypted or broken: no text layer to score against
  }
  if ((ref.match(/\w+/g) ?? []).length < 20) continue;
  pages.push({ name, file, ref });
  if (pages.length >= MAX_PAGES) break;
}

const server = await startServer({ vars: { MAX_UPLOAD_BYTES: String(100 * 1024 * 1024) }, logName: "bench-ocr-wrangler" });
const auth = { authorization: `Bearer ${server.adminKey}` };
let sent = 0;
// A connection the runtime closed while idle fails the next request on it
// before it is sent; each request carries an Idempotency-Key (POSTs) or
// is a read, so it is sent once more.
async function call(url, init = {}) {
  const key = `bench-ocr-${process.pid}-${sent++}`;
  const headers = { ...auth, ...(init.method === "POST" ? { "idempotency-key": key } : {}), ...init.headers };
  try {
    return await fetch(url, { ...init, headers });
  } catch {
    await new Promise((r) => setTimeout(r, 200));
    return fetch(url, { ...init, headers });
  }
}
// The page through the jobs worker's OCR (POST /__test/ocr, forwarded by
// the API worker): decoding and reading exactly as a job does, without the
// queue's batching and job bookkeeping in the times.
async function quire(body, type = "image/png") {
  const t = process.hrtime.bigint();
  const r = await call(`${server.base}/__test/ocr`, { method: "POST", headers: { "content-type": type }, body });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!r.ok) return { text: "", ms, failed: `${r.status} ${(await r.text()).slice(0, 120)}` };
  const answer = await r.json();
  return { text: answer.text, ms };
}

// A one-page PDF showing one image XObject over the whole page, as a
// scanner writes it: `filter` DCTDecode (a JPEG as is) or FlateDecode
// (8-bit grey samples).
function scannedPdf({ width, height, filter, space, data }) {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>`,
    Buffer.from("q 612 0 0 792 0 0 cm /Im0 Do Q"),
    [`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /${space} /BitsPerComponent 8 /Filter /${filter}`, data],
  ];
  const parts = [Buffer.from("%PDF-1.4\n")];
  let at = parts[0].length;
  const offsets = [];
  for (const [i, o] of objects.entries()) {
    let body;
    if (Array.isArray(o)) body = Buffer.concat([Buffer.from(`${o[0]} /Length ${o[1].length} >>\nstream\n`), o[1], Buffer.from("\nendstream")]);
    else if (Buffer.isBuffer(o)) body = Buffer.concat([Buffer.from(`<< /Length ${o.length} >>\nstream\n`), o, Buffer.from("\nendstream")]);
    else body = Buffer.from(o);
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from("\nendobj\n")]);
    offsets.push(at);
    parts.push(chunk);
    at += chunk.length;
  }
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`)].join("");
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`));
  return Buffer.concat(parts);
}

// The page at `dpi` as scanned PDFs: a JPEG, and Flate-packed grey samples.
function scans(file, dpi, out) {
  execFileSync("pdftoppm", ["-r", String(dpi), "-f", "1", "-l", "1", "-jpeg", "-singlefile", file, `${out}-j`]);
  execFileSync("pdftoppm", ["-r", String(dpi), "-f", "1", "-l", "1", "-gray", "-singlefile", file, `${out}-g`]);
  const jpeg = readFileSync(`${out}-j.jpg`);
  const pgm = readFileSync(`${out}-g.pgm`);
  const [, width, height] = pgm.subarray(0, 40).toString("latin1").match(/^P5\s+(\d+)\s+(\d+)\s+255\s/);
  const pixels = pgm.subarray(pgm.length - width * height);
  return {
    jpeg: scannedPdf({ width, height, filter: "DCTDecode", space: "DeviceRGB", data: jpeg }),
    flate: scannedPdf({ width, height, filter: "FlateDecode", space: "DeviceGray", data: zlib.deflateSync(pixels) }),
  };
}
function cli(pngPath) {
  const t = process.hrtime.bigint();
  const text = execFileSync("tesseract", [pngPath, "-", "-l", "eng"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return { text, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

try {
  // The first job also starts the engine (model load): not a page's cost.
  const warm = path.join(work, "warm");
  execFileSync("pdftoppm", ["-r", "50", "-f", "1", "-l", "1", "-png", "-singlefile", pages[0].file, warm]);
  await quire(readFileSync(`${warm}.png`));
  console.log(`pages: the first page of ${pages.length} corpus PDFs with a text layer\n`);
  console.log("| dpi | engine | pages | mean F1 | min F1 (file) | pages/s | s/page |\n|---|---|---|---|---|---|---|");
  for (const dpi of [150, 300]) {
    const rows = { quire: [], cli: [], pdfJpeg: [], pdfFlate: [] };
    for (const p of pages) {
      const out = path.join(work, `${p.name}-${dpi}`);
      execFileSync("pdftoppm", ["-r", String(dpi), "-f", "1", "-l", "1", "-png", "-singlefile", p.file, out]);
      const png = `${out}.png`;
      const q = await quire(readFileSync(png));
      const c = cli(png);
      rows.quire.push({ f1: f1(q.text, p.ref), ms: q.ms, name: p.name, failed: q.failed });
      rows.cli.push({ f1: f1(c.text, p.ref), ms: c.ms, name: p.name });
      if (dpi === 300) {
        const pdf = scans(p.file, dpi, out);
        for (const [kind, bytes] of [["pdfJpeg", pdf.jpeg], ["pdfFlate", pdf.flate]]) {
          const s = await quire(bytes, "application/pdf");
          rows[kind].push({ f1: f1(s.text, p.ref), ms: s.ms, name: p.name, failed: s.failed });
        }
      }
    }
    const engines = [
      ["quire", "Quire (tesseract-wasm in workerd)"],
      ["cli", "tesseract CLI (Debian)"],
      ["pdfJpeg", "Quire, the page as a scanned PDF (JPEG image)"],
      ["pdfFlate", "Quire, the page as a scanned PDF (Flate grey image)"],
    ];
    for (const [engine, label] of engines) {
      const r = rows[engine];
      if (!r.length) continue;
      const mean = r.reduce((a, x) => a + x.f1, 0) / r.length;
      const worst = r.reduce((a, x) => (x.f1 < a.f1 ? x : a));
      const secs = r.reduce((a, x) => a + x.ms, 0) / 1000;
      const failed = r.filter((x) => x.failed).map((x) => `${x.name}: ${x.failed}`);
      console.log(`| ${dpi} | ${label} | ${r.length} | ${mean.toFixed(3)} | ${worst.f1.toFixed(3)} (${worst.name}) | ${(r.length / secs).toFixed(2)} | ${(secs / r.length).toFixed(2)} |${failed.length ? ` failed: ${failed.join(", ")}` : ""}`);
    }
  }
  // Tables in the corpus's page images: the rows each reads as cells (a
  // table element's text parts its cells with tabs; a paragraph has none).
  console.log("\nTables in the corpus images (rows read as cells; cells in the widest row):\n");
  console.log("| image | table rows | cells, widest row |\n|---|---|---|");
  const images = path.resolve(pdfs, "..", "img");
  for (const name of readdirSync(images).filter((n) => /\.(png|jpe?g)$/.test(n)).sort()) {
    const r = await quire(readFileSync(path.join(images, name)), name.endsWith(".png") ? "image/png" : "image/jpeg");
    const rows = r.text.split("\n").filter((l) => l.includes("\t"));
    const widest = Math.max(0, ...rows.map((l) => l.split("\t").length));
    console.log(`| ${name} | ${rows.length} | ${widest} |${r.failed ? ` failed: ${r.failed}` : ""}`);
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
