// `npm run bench:load` (chaos drill 3): a fixed-concurrency load on
// `wrangler dev` for BENCH_SECONDS (default 60) with the default rate
// limits, mixing reads, metadata and uploads. Every answer must be a
// success or an intended 429; anything else fails the run.
import { startServer } from "./local-server.mjs";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);

// BENCH_VARS (JSON) adds settings, e.g. {"LOG_CALLS":"off"}.
const server = await startServer({ logName: "bench-load", vars: JSON.parse(process.env.BENCH_VARS ?? "{}") });
let failed = false;
try {
  const headers = { authorization: `Bearer ${server.adminKey}` };
  const seed = await fetch(`${server.base}/v1/documents`, {
    method: "POST",
    headers: { ...headers, "content-type": "text/plain" },
    body: "a document to read",
  });
  const docId = (await seed.json()).id;
  const statuses = {};
  const latencies = [];
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const pick = n++ % 10;
      const t = process.hrtime.bigint();
      const r =
        pick < 7
          ? await fetch(`${server.base}/v1/documents?limit=5`, { headers })
          : pick < 9
            ? await fetch(`${server.base}/v1/documents/${docId}`, { headers })
            : await fetch(`${server.base}/v1/documents`, {
                method: "POST",
                headers: { ...headers, "content-type": "text/plain" },
                body: `load ${n}`,
              });
      await r.arrayBuffer();
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  const unexpected = Object.keys(statuses).filter((s) => !["200", "201", "429"].includes(s));
  console.log(`${CONCURRENCY} concurrent clients, ${SECONDS} s, 70 % list / 20 % get / 10 % upload, default rate limits:\n`);
  console.log("| requests | req/s | p50 ms | p95 ms | p99 ms | statuses |\n|---|---|---|---|---|---|");
  console.log(`| ${latencies.length} | ${(latencies.length / SECONDS).toFixed(0)} | ${pct(0.5).toFixed(1)} | ${pct(0.95).toFixed(1)} | ${pct(0.99).toFixed(1)} | ${JSON.stringify(statuses)} |`);
  if (unexpected.length) {
    console.error(`unexpected statuses: ${unexpected.join(", ")}`);
    failed = true;
  }
} finally {
  await server.stop();
}
process.exit(failed ? 1 : 0);
