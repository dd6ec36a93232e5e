// `npm run bench:cache`: the edge cache in front of R2 for results, on
// and off side by side (EDGE_CACHE, each on its own `wrangler dev`): one
// job's extract result of a corpus PDF read N times by 4 clients. Prints
// latency percentiles of the reads, the hit ratio (from the server's call
// log) and the R2 reads each case made.
import { readFileSync } from "node:fs";
import path from "node:path";
import { startServer } from "./local-server.mjs";

const N = Number(process.env.CACHE_READS ?? 300);
const corpus = path.resolve(import.meta.dirname, "..", "..", "shared", "corpus", "example-docs");
const PDF = readFileSync(path.join(corpus, "pdf", "layout-parser-paper-with-table.pdf"));

async function run(cache) {
  const server = await startServer({ logName: `bench-cache-${cache}`, vars: { RATE_LIMITING: "off", EDGE_CACHE: cache } });
  try {
    const auth = { authorization: `Bearer ${server.adminKey}` };
    const doc = await (await fetch(`${server.base}/v1/documents`, { method: "POST", headers: { ...auth, "content-type": "application/pdf" }, body: PDF })).json();
    const job = await (await fetch(`${server.base}/v1/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract" }] }) })).json();
    for (;;) {
      const j = await (await fetch(`${server.base}/v1/jobs/${job.id}`, { headers: auth })).json();
      if (["succeeded", "failed"].includes(j.status)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const times = [];
    let bytes = 0;
    const client = async () => {
      while (times.length < N) {
        const t = performance.now();
        const r = await fetch(`${server.base}/v1/jobs/${job.id}/result`, { headers: auth });
        bytes = (await r.arrayBuffer()).byteLength;
        times.push(performance.now() - t);
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    await new Promise((r) => setTimeout(r, 1000));
    const log = readFileSync(server.logFile, "utf8");
    const count = (re) => (log.match(re) ?? []).length;
    times.sort((a, b) => a - b);
    const p = (q) => times[Math.floor(q * (times.length - 1))].toFixed(1);
    return { cache, p50: p(0.5), p90: p(0.9), bytes, hits: count(/"dependency":"cache","op":"hit"/g),
      misses: count(/"dependency":"cache","op":"miss"/g), r2Gets: count(/"dependency":"r2","op":"get"/g) };
  } finally {
    await server.stop();
  }
}

const rows = [];
for (const cache of ["on", "off"]) rows.push(await run(cache));
for (const r of rows) {
  const ratio = r.hits + r.misses ? (r.hits / (r.hits + r.misses)).toFixed(3) : "n/a";
  console.log(`cache-${r.cache}: ${N} reads of a ${r.bytes}-byte result: p50 ${r.p50} ms, p90 ${r.p90} ms; hit ratio ${ratio} (${r.hits} hits, ${r.misses} misses); R2 gets ${r.r2Gets}`);
}
console.log(`cache-saving: p50 ${(rows[1].p50 - rows[0].p50).toFixed(1)} ms per read (${(rows[0].p50 / rows[1].p50).toFixed(2)}x of uncached)`);
