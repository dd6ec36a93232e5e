// `npm run bench:extract`: extraction speed per format, natively (cargo
// example, beside pdftotext) and inside `wrangler dev` (Wasm in workerd),
// over the shared corpus. Inside workerd the time is the median round trip
// of POST /__test/extract minus that of a 1-byte document (the HTTP cost).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./local-server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = path.resolve(root, "..", "shared", "corpus", "example-docs");
const TYPES = {
  pdf: "application/pdf", docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text", epub: "application/epub+zip", eml: "message/rfc822",
  html: "text/html", md: "text/markdown", txt: "text/plain", csv: "text/csv", json: "application/json",
  rtf: "application/rtf", xml: "application/xml", zip: "application/zip",
};

console.log("## Native (release build)\n");
console.log(execFileSync("cargo", ["run", "--quiet", "--release", "-p", "quire-extract", "--example", "bench_extract"], { cwd: root, encoding: "utf8" }));

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

async function median(fn, runs = 5) {
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    last = await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return [times[Math.floor(runs / 2)], last];
}

const server = await startServer({ vars: { MAX_UPLOAD_BYTES: String(100 * 1024 * 1024) }, logName: "bench-wrangler" });
try {
  const post = async (type, body) => {
    const r = await fetch(`${server.base}/__test/extract`, { method: "POST", headers: { "content-type": type }, body });
    return r.ok ? r.json() : null;
  };
  for (let i = 0; i < 10; i++) await post("text/plain", "x"); // warm up the isolate
  const [base] = await median(() => post("text/plain", "x"), 15);
  const totals = {};
  for (const file of walk(corpus)) {
    const ext = path.extname(file).slice(1).toLowerCase();
    if (!TYPES[ext]) continue;
    const bytes = readFileSync(file);
    const [ms, result] = await median(() => post(TYPES[ext], bytes));
    if (!result) continue;
    const t = (totals[ext] ??= { files: 0, bytes: 0, pages: 0, ms: 0 });
    t.files += 1;
    t.bytes += bytes.length;
    t.pages += result.pages;
    t.ms += Math.max(ms - base, 0.01);
  }
  console.log(`## Inside wrangler dev (Wasm in workerd; HTTP baseline ${base.toFixed(2)} ms subtracted)\n`);
  console.log("| format | files | MB | MB/s | pages/s | ms/file |\n|---|---|---|---|---|---|");
  for (const [ext, t] of Object.entries(totals).sort()) {
    const s = t.ms / 1000;
    console.log(`| ${ext} | ${t.files} | ${(t.bytes / 1e6).toFixed(2)} | ${(t.bytes / 1e6 / s).toFixed(1)} | ${(t.pages / s).toFixed(1)} | ${(t.ms / t.files).toFixed(2)} |`);
  }
} finally {
  await server.stop();
}
