// Soak: bursts of job creation from several clients of several tenants,
// with concurrent polling, on large and small documents, and a restart of
// the local runtime in the middle (which loses the local queue's in-memory
// messages, as any restart of workerd does). Every accepted job must end,
// succeeded or failed with a reason; none lost or stuck. Runs its own
// `wrangler dev` with a short stall window, so the per-minute self-healing
// cron (fired by the local ticker) re-sends what the restart lost.
// Prints: jobs, time to drain, worst wait, re-sends.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { startServer } from "../../scripts/local-server.mjs";
import { jsonLines } from "./helpers.mjs";

const OPERATOR = process.env.QUIRE_OPERATOR_KEY;
const PDF = readFileSync(path.join(process.env.QUIRE_CORPUS, "pdf", "layout-parser-paper-fast.pdf"));
const CLIENTS_PER_TENANT = 3;
const TENANTS = 3;
const FIRST_BURST = 20; // jobs per client before the restart
const SECOND_BURST = 6; // jobs per client after it
// A short lease too: a job that was running when the runtime stopped is
// taken over once its lease ends.
const vars = { JOB_STALL_SECONDS: "15", JOB_LEASE_SECONDS: "20", RATE_LIMITING: "off", MAX_ACTIVE_JOBS_PER_TENANT: "1000" };

function client(base) {
  return async (key, method, route, body, type = "application/json") => {
    for (let tries = 0; ; tries++) {
      try {
        const r = await fetch(`${base}${route}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": type },
          body,
          signal: AbortSignal.timeout(60_000),
        });
        const json = await r.json().catch(() => null);
        // The dev proxy answers 503 while the runtime restarts; a client
        // retries with the same Idempotency-Key, as the README says.
        if (r.status === 503 && tries < 5) {
          await new Promise((res) => setTimeout(res, 1000));
          continue;
        }
        return { status: r.status, json };
      } catch (e) {
        if (tries >= 5) throw e;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  };
}

function text(bytes, seed) {
  const words = "quire soak alpha beta gamma delta epsilon zeta theta kappa lambda".split(" ");
  let out = "";
  for (let i = 0; out.length < bytes; i++) out += `${words[(i * seed) % words.length]}${i % 11 === 10 ? ".\n" : " "}`;
  return out;
}

async function burst(call, tenants, perClient, label) {
  const ids = [];
  await Promise.all(
    tenants.flatMap((t) =>
      Array.from({ length: CLIENTS_PER_TENANT }, async (_, c) => {
        for (let i = 0; i < perClient; i++) {
          const doc = t.docs[(c + i) % t.docs.length];
          const commands = doc.large
            ? [{ name: "keywords" }, { name: "summarize_extractive" }, { name: "chunk" }]
            : [{ name: "extract" }, { name: "chunk" }];
          const r = await call(t.key, "POST", "/v1/jobs", JSON.stringify({ document_id: doc.id, commands }), "application/json");
          assert.equal(r.status, 202, `${label}: ${JSON.stringify(r.json)}`);
          ids.push({ id: r.json.id, key: t.key });
        }
      }),
    ),
  );
  return ids;
}

async function states(call, jobs) {
  const out = [];
  for (let i = 0; i < jobs.length; i += 25) {
    out.push(...(await Promise.all(jobs.slice(i, i + 25).map((j) => call(j.key, "GET", `/v1/jobs/${j.id}`)))));
  }
  return out.map((r) => r.json);
}

function healed(logFile) {
  let resent = 0;
  for (const line of jsonLines(readFileSync(logFile, "utf8"))) {
    if (line.msg === "heal") resent += line.report?.jobs_requeued ?? 0;
  }
  return resent;
}

test("under bursts and a runtime restart every accepted job ends, none lost or stuck", { timeout: 600_000 }, async () => {
  const first = await startServer({ vars, logName: "soak-1", keepState: true });
  const persist = first.persist;
  let second;
  const started = Date.now();
  try {
    let call = client(first.base);
    const tenants = [];
    for (let n = 0; n < TENANTS; n++) {
      const t = await call(OPERATOR, "POST", "/v1/tenants", JSON.stringify({ name: `soak ${n}` }));
      assert.equal(t.status, 201, JSON.stringify(t.json));
      const key = t.json.owner_key.secret;
      const docs = [];
      for (const [body, type, large] of [
        [text(1_800_000, n + 3), "text/plain", true],
        [text(2_000, n + 5), "text/plain", false],
        [PDF, "application/pdf", false],
      ]) {
        const d = await call(key, "POST", "/v1/documents", body, type);
        assert.equal(d.status, 201, JSON.stringify(d.json));
        docs.push({ id: d.json.id, large });
      }
      tenants.push({ key, docs });
    }
    // Pollers run beside the bursts, as clients waiting on their jobs do.
    const jobs = [];
    let polling = true;
    const pollers = Array.from({ length: 2 }, async () => {
      while (polling) {
        const some = jobs.slice(-10);
        await Promise.all(some.map((j) => call(j.key, "GET", `/v1/jobs/${j.id}`).catch(() => null)));
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    jobs.push(...(await burst(call, tenants, FIRST_BURST, "first burst")));
    // Restart while most of the burst is still queued.
    polling = false;
    await Promise.all(pollers);
    await first.stop();
    second = await startServer({ vars, logName: "soak-2", persistDir: persist });
    call = client(second.base);
    jobs.push(...(await burst(call, tenants, SECOND_BURST, "second burst")));
    const sent = Date.now();
    let last = [];
    for (const deadline = Date.now() + 360_000; ; ) {
      last = await states(call, jobs);
      if (last.every((j) => ["succeeded", "failed", "cancelled"].includes(j.status))) break;
      if (Date.now() > deadline) {
        const open = last.filter((j) => !["succeeded", "failed"].includes(j.status));
        assert.fail(`${open.length} of ${jobs.length} jobs never ended: ${JSON.stringify(open.slice(0, 3))}`);
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
    const drained = Date.now();
    // Each job is there once, and each failure says why.
    assert.equal(new Set(last.map((j) => j.id)).size, jobs.length);
    for (const j of last.filter((x) => x.status === "failed")) assert.ok(j.error?.code, JSON.stringify(j));
    const waits = last.map((j) => Date.parse(j.finished_at) - Date.parse(j.created_at));
    const resent = healed(first.logFile) + healed(second.logFile);
    const ok = last.filter((j) => j.status === "succeeded").length;
    console.log(
      `soak: ${jobs.length} jobs (${ok} succeeded, ${jobs.length - ok} failed with a reason) from ` +
        `${TENANTS * CLIENTS_PER_TENANT} clients of ${TENANTS} tenants; drained ${Math.round((drained - sent) / 1000)} s ` +
        `after the last was sent (${Math.round((drained - started) / 1000)} s in all, restart included); ` +
        `worst wait ${Math.round(Math.max(...waits) / 1000)} s; re-sent by self-healing: ${resent}`,
    );
    assert.ok(ok >= jobs.length * 0.95, `only ${ok} of ${jobs.length} succeeded`);
  } finally {
    await first.stop();
    await second?.stop();
    rmSync(persist, { recursive: true, force: true });
  }
});
