// `npm run bench:split`: a 1,000-page PDF (about 20 MB) extracted end to
// end with and without splitting, side by side in one run.
//  1. Natively (crates/extract/examples/split_memory.rs): the peak heap of
//     the whole read beside each part's, parts read by range from the file.
//  2. In workerd: two `wrangler dev` servers, one reading PDFs over 8 MiB
//     in parts of 50 pages (4 at a time), one reading every PDF whole
//     (SPLIT_MIN_BYTES very high); the same document (a comment changed
//     per round, so no cached extraction is reused) is sent to each in
//     turn. Per job: time from creation to success, workerd's resident
//     memory growth while it ran (sampled from /proc every 20 ms), the
//     isolate's Wasm memory after it, and for the parts each one's bytes
//     read, Wasm memory and time.
//
//   SPLIT_BENCH_PAGES (1000), SPLIT_BENCH_ROUNDS (3)
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { manyPages } from "../tests/e2e/pdfs.mjs";
import { localSql } from "./local-sql.mjs";
import { startServer } from "./local-server.mjs";
import { workerdRss } from "./rss.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PAGES = Number(process.env.SPLIT_BENCH_PAGES ?? 1000);
const ROUNDS = Number(process.env.SPLIT_BENCH_ROUNDS ?? 3);
const MB = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

const pdf = manyPages(PAGES, 20_000);
mkdirSync(path.join(root, ".tmp"), { recursive: true });
const file = path.join(root, ".tmp", "bench-split.pdf");
writeFileSync(file, pdf);
console.log(`document: ${PAGES} pages, ${pdf.length} bytes`);
console.log("# natively");
console.log(execFileSync("cargo", ["run", "--release", "-q", "-p", "quire-extract", "--example", "split_memory", "--", file, "50"], { cwd: root, encoding: "utf8" }).trim());

async function call(server, method, route, body, headers = {}) {
  const r = await fetch(`${server.base}${route}`, { method, headers: { authorization: `Bearer ${server.adminKey}`, ...headers }, body });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}

/** One job on `server` for a variant of the document; what it took. */
async function oneJob(server, round) {
  const variant = Buffer.concat([pdf, Buffer.from(`% ${server.name} round ${round}\n`)]);
  const doc = await call(server, "POST", "/v1/documents", variant, { "content-type": "application/pdf" });
  if (doc.status !== 201) throw new Error(`upload: ${doc.status} ${doc.text}`);
  const before = workerdRss(server.pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, workerdRss(server.pid))), 20);
  const started = Date.now();
  const job = await call(server, "POST", "/v1/jobs", JSON.stringify({ document_id: doc.json.id, commands: [{ name: "extract" }] }), { "content-type": "application/json" });
  if (job.status !== 202) throw new Error(`job: ${job.status} ${job.text}`);
  let j;
  for (;;) {
    j = (await call(server, "GET", `/v1/jobs/${job.json.id}`)).json;
    if (["succeeded", "failed"].includes(j.status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ms = Date.now() - started;
  clearInterval(timer);
  if (j.status !== "succeeded") throw new Error(`${server.name}: ${JSON.stringify(j.error)}`);
  const parts = localSql(`SELECT part, bytes_read, wasm_memory, ms FROM job_parts WHERE job_id = '${job.json.id}' ORDER BY part`, { persist: server.persist });
  return { ms, rss: peak - before, wasm: j.resources?.wasm_memory_bytes ?? 0, parts };
}

const common = { RATE_LIMITING: "off", MAX_UPLOAD_BYTES: "100000000", SPLIT_PAGES: "50", SPLIT_IN_FLIGHT: "4" };
const split = { name: "split", ...(await startServer({ logName: "bench-split", vars: { ...common, SPLIT_MIN_BYTES: String(8 * 1024 * 1024) } })) };
const whole = { name: "whole", ...(await startServer({ logName: "bench-whole", vars: { ...common, SPLIT_MIN_BYTES: "1000000000000" } })) };
try {
  console.log("# in workerd (wrangler dev), each round the same document to each server in turn");
  const seen = { split: [], whole: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const server of round % 2 ? [split, whole] : [whole, split]) {
      const r = await oneJob(server, round);
      seen[server.name].push(r);
      const parts = r.parts.length
        ? `, ${r.parts.length} parts: bytes read ${MB(Math.min(...r.parts.map((p) => p.bytes_read)))}–${MB(Math.max(...r.parts.map((p) => p.bytes_read)))}, ` +
          `Wasm memory after each ${MB(Math.min(...r.parts.map((p) => p.wasm_memory)))}–${MB(Math.max(...r.parts.map((p) => p.wasm_memory)))}, ` +
          `${Math.min(...r.parts.map((p) => p.ms))}–${Math.max(...r.parts.map((p) => p.ms))} ms each`
        : "";
      console.log(`round ${round} ${server.name}: ${r.ms} ms end to end, workerd RSS +${MB(r.rss)}, Wasm memory after the job ${MB(r.wasm)}${parts}`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const s = median(seen.split.map((r) => r.ms));
  const w = median(seen.whole.map((r) => r.ms));
  console.log(`median end to end: split ${s} ms, whole ${w} ms (split/whole ${(s / w).toFixed(2)})`);
  console.log(`largest workerd RSS growth: split ${MB(Math.max(...seen.split.map((r) => r.rss)))}, whole ${MB(Math.max(...seen.whole.map((r) => r.rss)))}`);
} finally {
  await split.stop();
  await whole.stop();
}
