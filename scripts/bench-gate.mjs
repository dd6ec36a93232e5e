// `npm run bench:gate`: what Quire's request gate costs, against a
// hello-world workers-rs worker (bench/hello: same worker crate,
// wasm-bindgen and wrangler) served beside it under `wrangler dev` in the
// same run. wrk rounds alternate between the two (the machine is shared
// and noisy: only the ratios of one run mean something), then sequential
// requests give the unloaded p50s. Prints each round and the ratios.
// Besides the baseline (hello-world GET /), each round also runs
// hello's GET /floor: one Durable Object write, one D1 query and one log
// line, the least any authenticated read must do under `wrangler dev`.
//
//   GATE_ROUNDS (3)  wrk rounds per pair     GATE_SECONDS (8)  per round
//   GATE_CONNECTIONS (16)                    GATE_SAMPLES (300) unloaded
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startServer } from "./local-server.mjs";
import { wranglerEnv } from "./wrangler-env.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.GATE_ROUNDS ?? 3);
const SECONDS = Number(process.env.GATE_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.GATE_CONNECTIONS ?? 16);
const SAMPLES = Number(process.env.GATE_SAMPLES ?? 300);

function ensureWrk() {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (e) {
    // wrk prints its version and exits 1; only a missing binary throws ENOENT.
    if (e.code !== "ENOENT") return;
    console.log("installing wrk (Debian package)…");
    execFileSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit" });
  }
}

async function startHello() {
  const dir = path.join(root, "bench", "hello");
  const env = wranglerEnv({ ...process.env, PATH: `${os.homedir()}/.cargo/bin:${process.env.PATH}` });
  // The same offline overrides as Quire's build (scripts/build.sh).
  env.WASM_BINDGEN_BIN = execFileSync("sh", ["-c", "command -v wasm-bindgen"], { env }).toString().trim();
  env.ESBUILD_BIN = execFileSync("sh", ["-c", "ls node_modules/@esbuild/*/bin/esbuild node_modules/wrangler/node_modules/@esbuild/*/bin/esbuild 2>/dev/null | head -n 1"], { cwd: root }).toString().trim();
  console.log("building bench/hello (worker-build --release)…");
  execFileSync("worker-build", ["--release"], { cwd: dir, env, stdio: ["ignore", "ignore", "inherit"] });
  const port = await freePort();
  const persist = mkdtempSync(path.join(os.tmpdir(), "quire-hello-"));
  const log = openSync(path.join(root, ".tmp", "bench-hello.log"), "w");
  const child = spawn(path.join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist], {
      cwd: dir, detached: true, stdio: ["ignore", log, log], env,
    });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("hello worker's wrangler dev exited");
    try {
      if ((await fetch(`${base}/do`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("hello worker did not start");
    await new Promise((r) => setTimeout(r, 500));
  }
  const stop = async () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // gone
    }
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(persist, { recursive: true, force: true });
  };
  return { base, stop };
}

/** One wrk round; requests per second and the statuses seen. */
function wrk(url, { headers = {}, method = "GET", body } = {}) {
  const script = path.join(root, ".tmp", "bench-gate.lua");
  const lines = [
    `wrk.method = ${JSON.stringify(method)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    body === undefined ? "" : `wrk.body = ${JSON.stringify(body)}`,
  ];
  writeFileSync(script, lines.join("\n"));
  const out = execFileSync("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "-s", script, url]).toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const total = Number(/(\d+) requests in/.exec(out)[1]);
  const refused = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(out)?.[0] ?? "";
  return { rps, statuses: `${total - refused} of ${total} 2xx ${errors}`.trim() };
}

async function p50(url, init = {}) {
  const times = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = process.hrtime.bigint();
    // A kept-alive connection the server closed after a wrk round: once more.
    const r = await fetch(url, init).catch(() => fetch(url, init));
    await r.arrayBuffer();
    if (r.status >= 400) throw new Error(`${url}: ${r.status}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

ensureWrk();
// Limits and budgets out of the way: the bench measures the gate's cost,
// not its refusals. Call lines off, as a busy deployment would run.
const quire = await startServer({
  logName: "bench-gate",
  ticker: false,
  vars: {
    RATE_LIMITS: "read=100000000/60,upload=100000000/60,jobs=100000000/60,public=100000000/60",
    TENANT_RATE_LIMIT: "tenant=100000000/60",
    USAGE_BUDGETS: "requests=1000000000,stored_bytes=1000000000000",
    LOG_CALLS: "off",
  },
});
let hello;
try {
  hello = await startHello();
  const auth = { authorization: `Bearer ${quire.adminKey}` };
  const seeded = await fetch(`${quire.base}/v1/documents`, { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "seed" });
  if (seeded.status !== 201) throw new Error(`seeding: ${seeded.status}`);
  const docId = (await seeded.json()).id;
  const pairs = [
    ["authenticated GET /v1/documents?limit=1", () => wrk(`${quire.base}/v1/documents?limit=1`, { headers: auth }), 0.5],
    ["authenticated GET /v1/documents/{id}", () => wrk(`${quire.base}/v1/documents/${docId}`, { headers: auth }), 0.5],
    ["small upload POST /v1/documents (16 B)", () => wrk(`${quire.base}/v1/documents`, {
      method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "sixteen bytes ok",
    }), 0.25],
  ];
  console.log(`\nwrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} alternating rounds; baseline: hello-world GET / on the same wrangler dev\n`);
  console.log("| request | round | Quire req/s | hello / req/s | ratio | hello /floor req/s | ratio | Quire answers |\n|---|---|---|---|---|---|---|---|");
  const summary = [];
  for (const [name, run, goal] of pairs) {
    const ratios = [];
    const floors = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const base = wrk(`${hello.base}/`);
      const ours = run();
      const floor = wrk(`${hello.base}/floor`);
      ratios.push(ours.rps / base.rps);
      floors.push(ours.rps / floor.rps);
      console.log(`| ${name} | ${round} | ${ours.rps.toFixed(0)} | ${base.rps.toFixed(0)} | ${(ours.rps / base.rps).toFixed(2)}× | ${floor.rps.toFixed(0)} | ${(ours.rps / floor.rps).toFixed(2)}× | ${ours.statuses} |`);
    }
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    summary.push([name, median(ratios), goal, median(floors)]);
  }
  // Unloaded: one request at a time, alternating the two.
  const helloDo = await p50(`${hello.base}/do`);
  const ourGet = await p50(`${quire.base}/v1/documents/${docId}`, { headers: auth });
  const helloDo2 = await p50(`${hello.base}/do`);
  const baseP50 = (helloDo + helloDo2) / 2;
  console.log(`\nunloaded p50 over ${SAMPLES} sequential requests: Quire GET /v1/documents/{id} ${ourGet.toFixed(1)} ms; hello GET /do (one Durable Object write) ${helloDo.toFixed(1)} / ${helloDo2.toFixed(1)} ms\n`);
  const floorP50 = await p50(`${hello.base}/floor`);
  console.log(`hello GET /floor (DO write + D1 query + log line) p50 ${floorP50.toFixed(1)} ms\n`);
  console.log("| measure | vs hello GET / | goal | vs hello GET /floor |\n|---|---|---|---|");
  for (const [name, ratio, goal, floor] of summary) console.log(`| ${name} (req/s) | ${ratio.toFixed(2)}× | ≥ ${goal}× | ${floor.toFixed(2)}× |`);
  console.log(`| unloaded GET p50 vs hello's DO round trip | ${(ourGet / baseP50).toFixed(2)}× | ≤ 2× | ${(ourGet / floorP50).toFixed(2)}× |`);
} finally {
  await hello?.stop();
  await quire.stop();
}
