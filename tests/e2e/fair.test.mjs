// Fair processing: one tenant's flood does not stall another's work.
// Tenant A sends 300 jobs (keywords, extractive summary and chunks of one
// 1.8 MB text) from 8 clients; then tenant B sends one extract of a
// one-line text. B's job must end within 20 s while A's backlog drains:
// A has at most TENANT_JOBS_IN_FLIGHT jobs in the shared queue, the rest
// wait in D1 for A's turn. Runs its own `wrangler dev`. (The same flood
// with the share lifted is measured side by side by `npm run bench:fair`.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { startServer } from "../../scripts/local-server.mjs";
import { flood, oneLineJob } from "../../scripts/fair-flood.mjs";
import { localSql } from "./helpers.mjs";

test("one tenant's 300 queued jobs do not hold another tenant's one-line job back", { timeout: 600_000 }, async () => {
  const server = await startServer({
    logName: "fair",
    vars: { RATE_LIMITING: "off", MAX_ACTIVE_JOBS_PER_TENANT: "1000", TENANT_JOBS_IN_FLIGHT: "4" },
  });
  try {
    const a = await flood(server, { jobs: 300, clients: 8 });
    assert.equal(a.accepted.length, 300, "every job of the flood was accepted");
    const b = await oneLineJob(server);
    assert.equal(b.job.status, "succeeded", JSON.stringify(b.job));
    const sql = (q) => localSql(q, { persist: server.persist })[0];
    const open = sql("SELECT COUNT(*) AS n, SUM(held) AS held FROM jobs WHERE status IN ('queued', 'running')");
    console.log(`# fair: B's one-line job ended ${(b.ms / 1000).toFixed(1)} s after it was sent; ` +
      `A's 300 jobs sent in ${(a.ms / 1000).toFixed(1)} s, ${open.n} of them still open then (${open.held} held back)`);
    assert.ok(open.n > 0, "A's backlog was still draining when B's job ended");
    assert.ok(b.ms <= 20_000, `B's job took ${b.ms} ms`);
    // A's flood drains in order of arrival, four at a time.
    const inFlight = sql("SELECT COUNT(*) AS n FROM jobs WHERE held = 0 AND status IN ('queued', 'running')");
    assert.ok(inFlight.n <= 4, `A has at most 4 jobs in the queue (${inFlight.n})`);
  } finally {
    await server.stop();
  }
});
