// `npm run bench:storage`: uploads a BENCH_MB (default 200) MB file through
// `wrangler dev` as a resumable upload (8 MiB parts, sent in order, one
// at a time), then downloads it whole (streamed), then sends 90 MB of it as
// one request (streamed to storage), with encryption at rest on
// and then off (ENCRYPTION_AT_REST=off, benchmark-only). Reports MB/s each
// way and workerd's peak resident memory (VmHWM), and checks the bytes.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { startServer } from "./local-server.mjs";

const MB = Number(process.env.BENCH_MB ?? 200);
const SIZE = MB * 1024 * 1024;
const data = Buffer.alloc(SIZE);
data.fill("Quire storage benchmark: the quick brown fox jumps over the lazy dog.\n");
const sha256 = createHash("sha256").update(data).digest("hex");
const SINGLE_MB = Math.min(MB, 90);
const SINGLE = SINGLE_MB * 1024 * 1024;

function workerd(leader) {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,comm="]).toString();
  return out.split("\n").map((l) => l.trim().split(/\s+/))
    .filter(([, pgid, comm]) => Number(pgid) === leader && comm === "workerd")
    .map(([pid]) => Number(pid));
}

function memoryKiB(pids, field) {
  let max = 0;
  for (const pid of pids) {
    let status = "";
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      throw new Error(`workerd ${pid} went away during the run (a rebuild?): figures void`);
    }
    const m = status.match(new RegExp(`${field}:\\s+(\\d+)`));
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

async function run(label, vars) {
  const server = await startServer({
    logName: `bench-storage-${label}`,
    vars: { RATE_LIMITING: "off", LOG_CALLS: "off", USAGE_BUDGETS: "stored_bytes=100000000000", ...vars },
  });
  try {
    const auth = { authorization: `Bearer ${server.adminKey}` };
    // Warm the isolate, then note the resident memory before the transfer.
    await fetch(`${server.base}/v1/documents?limit=1`, { headers: auth });
    const pids = workerd(server.pid);
    const before = memoryKiB(pids, "VmRSS");
    const t0 = performance.now();
    const start = await fetch(`${server.base}/v1/uploads`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ filename: "bench.txt", content_type: "text/plain", size: SIZE, sha256 }),
    });
    const upload = await start.json();
    if (start.status !== 201) throw new Error(`start: ${JSON.stringify(upload)}`);
    const { id, part_size: partSize, parts } = upload;
    let next = 1;
    const sender = async () => {
      while (next <= parts) {
        const n = next++;
        const r = await fetch(`${server.base}/v1/uploads/${id}/parts/${n}`, {
          method: "PUT",
          headers: { ...auth, "content-type": "application/octet-stream" },
          body: data.subarray((n - 1) * partSize, Math.min(n * partSize, SIZE)),
        });
        if (r.status !== 200) throw new Error(`part ${n}: ${r.status} ${await r.text()}`);
      }
    };
    // In order, one at a time: the running SHA-256 then needs no read-back.
    await sender();
    const done = await fetch(`${server.base}/v1/uploads/${id}/complete`, { method: "POST", headers: auth });
    const doc = await done.json();
    if (done.status !== 201 || doc.sha256 !== sha256) throw new Error(`complete: ${JSON.stringify(doc)}`);
    const t1 = performance.now();
    const resp = await fetch(`${server.base}/v1/documents/${doc.id}/content`, {
      headers: { ...auth, "accept-encoding": "identity" },
    });
    const hash = createHash("sha256");
    let got = 0;
    for await (const chunk of resp.body) {
      hash.update(chunk);
      got += chunk.length;
    }
    const t2 = performance.now();
    if (got !== SIZE || hash.digest("hex") !== sha256) throw new Error(`download: ${got} bytes, wrong digest`);
    // One request of SINGLE_MB (under the 100 MB request limit), streamed
    // to storage part by part.
    const single = data.subarray(0, SINGLE);
    const t3 = performance.now();
    const one = await fetch(`${server.base}/v1/documents`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body: single,
    });
    const oneDoc = await one.json();
    const t4 = performance.now();
    if (one.status !== 201 || oneDoc.size_bytes !== SINGLE) throw new Error(`single: ${JSON.stringify(oneDoc)}`);
    const peak = memoryKiB(pids, "VmHWM");
    return {
      label,
      up: MB / ((t1 - t0) / 1000),
      down: MB / ((t2 - t1) / 1000),
      upS: (t1 - t0) / 1000,
      downS: (t2 - t1) / 1000,
      single: SINGLE_MB / ((t4 - t3) / 1000),
      beforeMiB: before / 1024,
      peakMiB: peak / 1024,
    };
  } finally {
    await server.stop();
  }
}

const rows = [await run("encrypted", {}), await run("unencrypted", { ENCRYPTION_AT_REST: "off" })];
console.log(`\n${MB} MB through wrangler dev (resumable upload in 8 MiB parts, in order; streamed download)\n`);
console.log(`| storage | resumable upload MB/s (s) | download MB/s (s) | ${SINGLE_MB} MB in one request, MB/s | workerd RSS before MiB | workerd peak RSS MiB |`);
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.label} | ${r.up.toFixed(1)} (${r.upS.toFixed(1)}) | ${r.down.toFixed(1)} (${r.downS.toFixed(1)}) | ${r.single.toFixed(1)} | ${r.beforeMiB.toFixed(0)} | ${r.peakMiB.toFixed(0)} |`);
}
