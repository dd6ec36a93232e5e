// `npm run bench:ratelimit`: what the rate limiter adds to an authenticated
// GET. Starts `wrangler dev` twice in one run, with the limiter on (two
// Durable Object checks per request: key and tenant) and off
// (RATE_LIMITING=off), and drives each with the same closed-loop load.
import { startServer } from "./local-server.mjs";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

async function load(base, key) {
  const url = `${base}/v1/documents?limit=1`;
  const headers = { authorization: `Bearer ${key}` };
  for (let i = 0; i < 50; i++) await (await fetch(url, { headers })).arrayBuffer(); // warm-up
  const latencies = [];
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status !== 200) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { rps: latencies.length / SECONDS, p50: pct(0.5), p99: pct(0.99), errors };
}

const rows = [];
for (const [label, vars] of [
  ["limiter on", { RATE_LIMITS: "read=1000000/60,public=1000000/60", TENANT_RATE_LIMIT: "tenant=1000000/60" }],
  ["limiter off", { RATE_LIMITING: "off" }],
]) {
  const server = await startServer({ vars, logName: "bench-ratelimit" });
  try {
    rows.push([label, await load(server.base, server.adminKey)]);
  } finally {
    await server.stop();
  }
}
console.log(`Authenticated GET /v1/documents?limit=1, ${CONCURRENCY} concurrent, ${SECONDS} s each:\n`);
console.log("| run | req/s | p50 ms | p99 ms | non-200 |\n|---|---|---|---|---|");
for (const [label, r] of rows) {
  console.log(`| ${label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} |`);
}
