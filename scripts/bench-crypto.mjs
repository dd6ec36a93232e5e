// `npm run bench:crypto`: AES-256-GCM inside workerd, pure Rust (the
// aes-gcm crate compiled to Wasm, what Quire uses) against WebCrypto
// (SubtleCrypto, one call per 64 KiB segment, bytes copied back into
// Wasm), timed from outside since a Worker's clock stands still while it
// computes. Each engine runs BENCH_ROUNDS (3) times over BENCH_MB (32) MiB;
// the empty loop (`none`) is subtracted.
import { startServer } from "./local-server.mjs";

const MB = Number(process.env.BENCH_MB ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const server = await startServer({ logName: "bench-crypto", vars: { RATE_LIMITING: "off", LOG_CALLS: "off" } });
try {
  const time = async (engine) => {
    const best = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      const r = await fetch(`${server.base}/__test/crypto?engine=${engine}&mb=${MB}`);
      const body = await r.json();
      if (r.status !== 200 || body.bytes_out !== MB * 16 * (65536 + 16)) throw new Error(JSON.stringify(body));
      best.push(performance.now() - t);
    }
    return Math.min(...best);
  };
  await time("none");
  const none = await time("none");
  const rows = [];
  for (const engine of ["rust", "webcrypto"]) {
    const ms = (await time(engine)) - none;
    rows.push({ engine, ms, mbps: MB / (ms / 1000) });
  }
  console.log(`\nAES-256-GCM over ${MB} MiB in 64 KiB segments inside workerd (best of ${ROUNDS}, empty loop ${none.toFixed(0)} ms subtracted)\n`);
  console.log("| engine | ms | MiB/s |");
  console.log("|---|---|---|");
  for (const r of rows) console.log(`| ${r.engine} | ${r.ms.toFixed(0)} | ${r.mbps.toFixed(1)} |`);
} finally {
  await server.stop();
}
