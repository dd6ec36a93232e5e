// `npm run bench:fair`: the fair-processing load (scripts/fair-flood.mjs)
// twice in one run, each on its own `wrangler dev`: with a tenant's jobs
// in the queue capped (TENANT_JOBS_IN_FLIGHT=4) and with the cap lifted
// (1000: every job goes to the queue at once, in arrival order, as before
// the cap existed). Prints how long tenant B's one-line job took in each.
import { startServer } from "./local-server.mjs";
import { flood, oneLineJob } from "./fair-flood.mjs";

const JOBS = Number(process.env.FAIR_JOBS ?? 300);

async function run(inFlight) {
  const server = await startServer({
    logName: `bench-fair-${inFlight}`,
    vars: { RATE_LIMITING: "off", MAX_ACTIVE_JOBS_PER_TENANT: "1000", TENANT_JOBS_IN_FLIGHT: String(inFlight) },
  });
  try {
    const a = await flood(server, { jobs: JOBS, clients: 8 });
    const b = await oneLineJob(server, { timeoutMs: 900_000 });
    return { inFlight, sendMs: a.ms, waitMs: b.ms, status: b.job.status };
  } finally {
    await server.stop();
  }
}

const rows = [];
for (const inFlight of [4, 1000]) rows.push(await run(inFlight));
for (const r of rows) {
  console.log(`fair-tenant-jobs-in-flight-${r.inFlight}: B's job ${r.status} in ${(r.waitMs / 1000).toFixed(1)} s ` +
    `(A's ${JOBS} jobs sent in ${(r.sendMs / 1000).toFixed(1)} s)`);
}
console.log(`fair-ratio: B waits ${(rows[1].waitMs / rows[0].waitMs).toFixed(1)}x longer without the cap`);
