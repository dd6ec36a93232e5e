// `npm run bench:scaling`: replays the load model of docs/SCALING.md
// against the local runtime. N documents go through the life the model
// assumes (upload, one job, polls until it ends, its result), from 4
// clients; then the D1 bytes they left and the calls each kind of step
// made (read from the server's log) are fed to scripts/scaling-model.mjs,
// which prints the plan for 10,000 tenants and 10 million documents a month.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { startServer } from "./local-server.mjs";

const N = Number(process.env.SCALING_DOCS ?? 100);

/// Bytes the local D1 database holds, compacted: a copy of its files
/// (the WAL too) opened by Python's sqlite3 and vacuumed, so free pages
/// and the write-ahead log are not counted.
function d1Bytes(persist) {
  const found = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".sqlite") && statSync(p).size > 0) found.push(p);
    }
  };
  walk(path.join(persist, "v3", "d1"));
  const script = `
import os, shutil, sqlite3, sys, tempfile
total = 0
for db in sys.argv[1:]:
    d = tempfile.mkdtemp()
    for suffix in ("", "-wal"):
        if os.path.exists(db + suffix):
            shutil.copy(db + suffix, os.path.join(d, "db.sqlite" + suffix))
    c = sqlite3.connect(os.path.join(d, "db.sqlite"))
    c.execute("VACUUM")
    c.close()
    total += os.path.getsize(os.path.join(d, "db.sqlite"))
    shutil.rmtree(d)
print(total)`;
  return Number(execFileSync("python3", ["-c", script, ...found]).toString().trim());
}

const server = await startServer({ logName: "bench-scaling", vars: { RATE_LIMITING: "off", MAX_ACTIVE_JOBS_PER_TENANT: "1000" } });
let polls = 0;
try {
  const call = async (method, route, body, headers = {}) => {
    const r = await fetch(`${server.base}${route}`, { method, headers: { authorization: `Bearer ${server.adminKey}`, ...headers }, body });
    return { status: r.status, json: await r.json().catch(() => null) };
  };
  const before = d1Bytes(server.persist);
  const life = async (i) => {
    const doc = await call("POST", "/v1/documents", `Document ${i}: quarterly figures, ${"revenue grew in every region. ".repeat(20)}`,
      { "content-type": "text/plain", "x-filename": `doc-${i}.txt` });
    const job = await call("POST", "/v1/jobs", JSON.stringify({ document_id: doc.json.id, commands: [{ name: "extract" }, { name: "stats" }] }),
      { "content-type": "application/json" });
    for (;;) {
      polls++;
      const j = await call("GET", `/v1/jobs/${job.json.id}`);
      if (["succeeded", "failed"].includes(j.json?.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await call("GET", `/v1/jobs/${job.json.id}/result`);
  };
  const started = Date.now();
  for (let i = 0; i < N; i += 4) await Promise.all([0, 1, 2, 3].filter((k) => i + k < N).map((k) => life(i + k)));
  await new Promise((r) => setTimeout(r, 3000)); // audit entries land after the responses
  const bytes = Math.round((d1Bytes(server.persist) - before) / N);
  console.log(`bench-scaling: ${N} documents through upload, job, ${(polls / N).toFixed(1)} polls each and result in ${((Date.now() - started) / 1000).toFixed(1)} s; D1 grew ${bytes} bytes per document`);
  const out = execFileSync(process.execPath, [path.join(import.meta.dirname, "scaling-model.mjs"), server.logFile,
    "--bytes-per-doc", String(bytes), "--polls", (polls / N).toFixed(1)]).toString();
  console.log(out.trimEnd());
} finally {
  await server.stop();
}
