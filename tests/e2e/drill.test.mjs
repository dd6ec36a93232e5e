// Chaos drill: kill -9 the workerd process in the middle of processing,
// restart the runtime on the same persisted state, and show that every
// accepted job still completes, once. Runs its own `wrangler dev`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../../scripts/local-server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PDF = readFileSync(path.join(process.env.QUIRE_CORPUS, "pdf", "layout-parser-paper-fast.pdf"));
const JOBS = 12;
// Short lease and stall windows, so the sweep heals within the test.
const vars = { JOB_LEASE_SECONDS: "3", JOB_STALL_SECONDS: "2", RATE_LIMITING: "off" };

function workerdPids(groupLeader) {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,comm="]).toString();
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, pgid, comm]) => Number(pgid) === groupLeader && comm === "workerd")
    .map(([pid]) => Number(pid));
}

async function call(base, key, method, route, body, type = "application/json") {
  const r = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": type },
    body,
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

test("every accepted job completes after the runtime is killed mid-processing", { timeout: 240_000 }, async () => {
  const first = await startServer({ vars, logName: "drill-1", keepState: true });
  const ids = [];
  let persist;
  try {
    persist = first.persist;
    for (let i = 0; i < JOBS; i++) {
      const doc = await call(first.base, first.adminKey, "POST", "/v1/documents", PDF, "application/pdf");
      assert.equal(doc.status, 201);
      const job = await call(first.base, first.adminKey, "POST", "/v1/jobs",
        JSON.stringify({ document_id: doc.json.id, commands: [{ name: "extract" }, { name: "chunk" }] }));
      assert.equal(job.status, 202);
      ids.push(job.json.id);
    }
    // Some jobs are done, some running, some still queued: kill now.
    const pids = workerdPids(first.pid);
    assert.ok(pids.length > 0, "found the workerd process");
    for (const pid of pids) process.kill(pid, "SIGKILL");
  } finally {
    await first.stop();
  }
  const second = await startServer({ vars, logName: "drill-2", persistDir: persist });
  try {
    const deadline = Date.now() + 150_000;
    let states = [];
    for (;;) {
      // The sweep re-queues what the crash left running or stranded.
      await fetch(`${second.base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
      states = await Promise.all(ids.map((id) => call(second.base, second.adminKey, "GET", `/v1/jobs/${id}`)));
      if (states.every((s) => s.json.status === "succeeded")) break;
      assert.ok(states.every((s) => s.json.status !== "failed"), JSON.stringify(states.map((s) => s.json.error)));
      if (Date.now() > deadline) assert.fail(`not all jobs finished: ${states.map((s) => s.json.status)}`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (const id of ids) {
      const r = await call(second.base, second.adminKey, "GET", `/v1/jobs/${id}/result?command=chunk`);
      assert.equal(r.status, 200);
      assert.ok(r.json.count > 0);
    }
    const attempts = states.map((s) => s.json.attempts);
    assert.ok(attempts.every((a) => a >= 1 && a <= 3), `attempts ${attempts}`);
  } finally {
    await second.stop();
    execFileSync("rm", ["-rf", persist]);
  }
});
