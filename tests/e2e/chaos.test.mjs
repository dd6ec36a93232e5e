// Chaos drill 1: 200 jobs while 30 % of R2, queue, LLM and webhook calls
// (and 3 % of D1 calls) fail, half of them after the call took effect.
// Clients retry 5xx with the same Idempotency-Key. Every accepted job must
// end succeeded, or failed with a reason; none lost, none doubled, none
// charged twice; and at least 99 % succeed, the faults having passed.
// The SLO pass must then page, with a signed alert. Runs its own
// `wrangler dev` with the FAULTS switch.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http from "node:http";
import { test } from "node:test";
import { startServer } from "../../scripts/local-server.mjs";
import { localSql } from "./helpers.mjs";

const JOBS = 200;
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LLM = process.env.QUIRE_FAKE_LLM;

async function retrying(call, tries = 30) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await call().catch((e) => ({ status: 0, error: e }));
    if (last.status && last.status < 500) return last;
    await new Promise((r) => setTimeout(r, 100 + 50 * i));
  }
  return last;
}

test("200 jobs under 30 % injected faults all end, once, 99 % of them succeed, and the SLO pages", { timeout: 420_000 }, async () => {
  const alerts = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      alerts.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const server = await startServer({
    logName: "chaos",
    vars: {
      FAULTS: "d1=0.03,r2=0.3,queue=0.3,llm=0.3,webhook=0.3",
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${receiver.address().port}/alerts`,
      ALERT_WEBHOOK_SECRET: SECRET,
      RATE_LIMITING: "off",
      // The drill is about faults, not backpressure.
      MAX_ACTIVE_JOBS_PER_TENANT: "1000",
      TENANT_JOBS_IN_FLIGHT: "1000",
      JOB_LEASE_SECONDS: "5",
      JOB_STALL_SECONDS: "3",
      // Retries budgeted by time, as deployed (an hour), shortened so the
      // drill ends: runs 5 s, 10 s, 20 s … apart for three minutes.
      JOB_RETRY_SECONDS: "180",
      METRICS_FLUSH_SECONDS: "0",
      LLM_PROVIDERS: `fake=openai:${LLM}/v1`,
      LLM_TIERS: "small=fake/small;large=fake/large",
    },
  });
  const call = async (method, route, body, headers = {}) => {
    const r = await fetch(`${server.base}${route}`, {
      method,
      headers: { authorization: `Bearer ${server.adminKey}`, ...headers },
      body,
    });
    return { status: r.status, json: await r.json().catch(() => null) };
  };
  const sweep = () => fetch(`${server.base}/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*`).catch(() => {});
  try {
    const started = Date.now();
    const accepted = [];
    let retries = 0;
    const worker = async (w) => {
      for (let i = w; i < JOBS; i += 8) {
        const doc = await retrying(async () => {
          const r = await call("POST", "/v1/documents", `Drill document ${i}: the quick brown fox.`,
            { "content-type": "text/plain", "idempotency-key": `drill-doc-${i}` });
          if (r.status >= 500) retries++;
          return r;
        });
        assert.equal(doc.status, 201, JSON.stringify(doc));
        const commands = i % 4 === 0 ? [{ name: "extract" }, { name: "summarize" }] : [{ name: "extract" }, { name: "stats" }];
        const job = await retrying(async () => {
          const r = await call("POST", "/v1/jobs", JSON.stringify({ document_id: doc.json.id, commands }),
            { "content-type": "application/json", "idempotency-key": `drill-job-${i}` });
          if (r.status >= 500) retries++;
          return r;
        });
        assert.equal(job.status, 202, JSON.stringify(job));
        accepted.push(job.json.id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.equal(accepted.length, JOBS);
    assert.equal(new Set(accepted).size, JOBS, "one job per idempotency key");

    // Wait for every job to end, running the sweep as the cron would.
    const final = new Map();
    const deadline = Date.now() + 300_000;
    while (final.size < JOBS && Date.now() < deadline) {
      await sweep();
      for (const id of accepted.filter((j) => !final.has(j))) {
        const r = await call("GET", `/v1/jobs/${id}`);
        if (r.status === 200 && ["succeeded", "failed"].includes(r.json.status)) final.set(id, r.json);
      }
      if (final.size < JOBS) await new Promise((r) => setTimeout(r, 2000));
    }
    const open = accepted.filter((j) => !final.has(j));
    assert.deepEqual(open, [], "every accepted job ended");
    const jobs = [...final.values()];
    const succeeded = jobs.filter((j) => j.status === "succeeded");
    for (const j of jobs.filter((j) => j.status === "failed")) {
      assert.ok(j.error?.code && j.error?.message, `failed with a reason: ${JSON.stringify(j)}`);
    }

    // None ran twice in effect: a job's pages are charged once, however
    // many runs it took; the jobs table holds what the clients were told.
    // Read beside the running server: its writes (audit entries land after
    // each response) can hold the file for a moment (SQLITE_BUSY): retry.
    const sql = (q) => localSql(q, { persist: server.persist })[0];
    const rows = sql("SELECT COUNT(*) AS jobs, SUM(attempts) AS attempts, SUM(attempts > 1) AS rerun, " +
      "(SELECT COUNT(*) FROM documents) AS documents FROM jobs");
    // A try that wrote its row and then failed is finished by the retry
    // under the same key, never doubled: one row per key.
    assert.equal(rows.jobs, JOBS, "one job row per accepted job");
    assert.equal(rows.documents, JOBS, "one document row per upload");
    const usage = await retrying(() => call("GET", "/v1/usage"));
    const pages = usage.json.usage.pages.used;
    assert.ok(pages >= succeeded.length && pages <= rows.jobs,
      `pages ${pages} between succeeded ${succeeded.length} and jobs ${rows.jobs}`);
    assert.ok(rows.rerun > 0, "the faults did make jobs run again");
    const reasons = {};
    for (const j of jobs.filter((j) => j.status === "failed")) reasons[j.error.code] = (reasons[j.error.code] ?? 0) + 1;
    console.log(`# drill 1 failure reasons: ${JSON.stringify(reasons)}; ` +
      `e.g. ${JSON.stringify(jobs.find((j) => j.status === "failed")?.error ?? null)}`);
    // Faults that pass must not fail jobs: retries within a run and across
    // runs (by time) outlast them.
    assert.ok(succeeded.length >= 0.99 * JOBS, `${succeeded.length} of ${JOBS} jobs succeeded`);

    // The 5xx of the drill burn the availability budget: the SLO pass pages.
    let paged;
    for (let i = 0; i < 8 && !paged; i++) {
      await fetch(`${server.base}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*`).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
      paged = alerts.find((a) => JSON.parse(a.body).alert?.id === "availability:page");
    }
    assert.ok(paged, `an availability page arrived (${alerts.length} alerts)`);
    const { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig } = paged.headers;
    const expected = createHmac("sha256", Buffer.from(SECRET.slice(6), "base64")).update(`${id}.${ts}.${paged.body}`).digest("base64");
    assert.equal(sig, `v1,${expected}`);
    const firings = alerts.filter((a) => JSON.parse(a.body).alert.id === "availability:page");
    assert.equal(new Set(firings.map((a) => a.headers["webhook-id"])).size, 1, "paged once, however many runs");

    console.log(`# drill 1: ${JOBS} jobs in ${Math.round((Date.now() - started) / 1000)} s: ` +
      `${succeeded.length} succeeded, ${JOBS - succeeded.length} failed with a reason; ` +
      `${retries} client retries after 5xx; ${rows.rerun} jobs ran more than once ` +
      `(${rows.attempts} runs); ${rows.jobs} job rows, ${rows.documents} documents; pages charged ${pages}; ` +
      `${alerts.length} alerts received`);
  } finally {
    await server.stop();
    receiver.close();
  }
});
