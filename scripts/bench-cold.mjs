// `npm run bench:cold`: the API worker's cold start, with and without the
// wasm name section, alternating in one run. Each round starts a fresh
// `wrangler dev`, waits for its "Ready on" line, then times the first 200
// of an authenticated GET /v1/me: the isolate's start, which includes
// compiling the wasm module, and one gate call and key lookup. A second
// GET right after gives the warm time of the same request.
//
//   COLD_ROUNDS (3)  rounds per variant
import { readFileSync } from "node:fs";
import { startServer } from "./local-server.mjs";

const ROUNDS = Number(process.env.COLD_ROUNDS ?? 3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function round(keepNames) {
  process.env.QUIRE_KEEP_NAMES = keepNames ? "1" : "0";
  const server = await startServer({ logName: "bench-cold", ticker: false, waitForHealthy: false });
  try {
    for (let waited = 0; !readFileSync(server.logFile, "utf8").includes("Ready on"); waited += 20) {
      if (waited > 600_000) throw new Error("wrangler dev did not get ready");
      await sleep(20);
    }
    const get = () => fetch(`${server.base}/v1/me`, { headers: { authorization: `Bearer ${server.adminKey}` } });
    const ready = performance.now();
    let resp;
    for (;;) {
      try {
        resp = await get();
        if (resp.status === 200) break;
      } catch {
        // the proxy may not accept connections for a moment after "Ready"
      }
      await sleep(5);
    }
    const cold = performance.now() - ready;
    const t = performance.now();
    const warm = await get();
    if (warm.status !== 200) throw new Error(`warm GET: ${warm.status}`);
    return { cold, warm: performance.now() - t };
  } finally {
    await server.stop();
  }
}

const results = { names: [], stripped: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const variant of ["names", "stripped"]) {
    const r = await round(variant === "names");
    results[variant].push(r);
    console.log(`round ${i + 1} ${variant.padEnd(8)} first authenticated 200 ${r.cold.toFixed(0)} ms after ready, then ${r.warm.toFixed(1)} ms warm`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const n = median(results.names.map((r) => r.cold));
const s = median(results.stripped.map((r) => r.cold));
console.log(`median cold: with names ${n.toFixed(0)} ms, stripped ${s.toFixed(0)} ms (${(s / n).toFixed(2)}×)`);
