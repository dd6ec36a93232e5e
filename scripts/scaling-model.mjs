// The load model of docs/SCALING.md, runnable: measured costs per request
// and per job (from a `wrangler dev` log, scripts/call-costs.mjs) times a
// month's load, against the platform limits that bind. Prints each part's
// peak load and headroom, where it saturates first, and the shard count
// and queue layout the load needs.
//   node scripts/scaling-model.mjs .tmp/e2e-wrangler.log [--tenants N] [--docs-per-month N]
//     [--bytes-per-doc N] [--peak X] [--polls N]
import { readFileSync } from "node:fs";
import { costs } from "./call-costs.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const log = args.find((a) => !a.startsWith("--") && !/^[0-9.]+$/.test(a));
if (!log) throw new Error("usage: node scripts/scaling-model.mjs <wrangler log> [options]");

const tenants = opt("tenants", 10_000);
const docsPerMonth = opt("docs-per-month", 10_000_000);
// D1 bytes one document leaves (its row, its job's row, audit entries and
// indexes): measured on a local database by `--bytes-per-doc`'s caller.
const bytesPerDoc = opt("bytes-per-doc", 6_000);
const peak = opt("peak", 4); // peak hour over the month's mean
const retainedMonths = opt("retained-months", 12); // how long metadata is kept
const polls = opt("polls", 5); // GET /v1/jobs/{id} per job

// Platform limits (Cloudflare's documentation, Workers Paid).
const LIMITS = {
  d1QueriesPerSecond: 1_000, // one database runs one query at a time: ~1,000/s at 1 ms each
  d1Bytes: 10e9, // 10 GB per database
  queueMessagesPerSecond: 5_000, // per queue
  objectRequestsPerSecond: 1_000, // per Durable Object (soft)
  d1AccountBytes: 1e12, // 1 TB of D1 per account
};

const { routes, job } = costs(readFileSync(log, "utf8"));
const route = (name) => routes[name] ?? { d1: 0, r2: 0, queue: 0, objects: 0 };
// One document's life: its upload, one job, the polls, one result read.
const life = [
  [route("POST CreateDocument"), 1],
  [route("POST CreateJob"), 1],
  [route("GET GetJob"), polls],
  [route("GET GetJobResult"), 1],
];
if (!job) throw new Error("the log has no job runs");
const per = { d1: job.d1, r2: job.r2, queue: job.queue, objects: job.objects, requests: 0 };
for (const [r, times] of life) {
  per.d1 += r.d1 * times;
  per.r2 += r.r2 * times;
  per.queue += r.queue * times;
  per.objects += r.objects * times;
  per.requests += times;
}
per.queue += 1; // the job's own message

const month = 30 * 24 * 3600;
const docsPerSecond = (docsPerMonth / month) * peak;
const load = {
  requests: docsPerSecond * per.requests,
  d1: docsPerSecond * per.d1,
  queue: docsPerSecond * per.queue,
  r2: docsPerSecond * per.r2,
};
// The busiest tenant: its share of the documents if one tenant in a
// hundred sends a tenth of everything.
const bigTenantObjectRps = docsPerSecond * 0.1 * per.objects;

const shardsForQueries = Math.ceil(load.d1 / (LIMITS.d1QueriesPerSecond * 0.5)); // run each at half its capacity
const shardsForBytes = Math.ceil((docsPerMonth * retainedMonths * bytesPerDoc) / (LIMITS.d1Bytes * 0.7));
const shards = Math.max(2, shardsForQueries, shardsForBytes);
const queues = Math.max(1, Math.ceil(load.queue / (LIMITS.queueMessagesPerSecond * 0.5)));

const f = (x) => (x >= 100 ? Math.round(x).toLocaleString("en") : x.toFixed(1));
console.log(`load: ${tenants.toLocaleString("en")} tenants, ${docsPerMonth.toLocaleString("en")} documents/month, peak ${peak}x the mean: ${f(docsPerSecond)} documents/s`);
console.log(`measured per document: ${f(per.requests)} requests, ${f(per.d1)} D1 queries, ${f(per.r2)} R2 calls, ${f(per.queue)} queue messages, ${f(per.objects)} Durable Object calls`);
console.log(`peak: ${f(load.requests)} requests/s, ${f(load.d1)} D1 queries/s, ${f(load.queue)} queue messages/s, ${f(load.r2)} R2 calls/s`);
console.log(`D1 on one database: ${f((100 * load.d1) / LIMITS.d1QueriesPerSecond)} % of its query capacity; ` +
  `${f((100 * docsPerMonth * retainedMonths * bytesPerDoc) / LIMITS.d1Bytes)} % of 10 GB after ${retainedMonths} months at ${bytesPerDoc} bytes/document`);
console.log(`queue: ${f((100 * load.queue) / LIMITS.queueMessagesPerSecond)} % of one queue's 5,000 messages/s`);
console.log(`busiest tenant's gate object: ${f(bigTenantObjectRps)} calls/s of ~1,000/s`);
const first = [
  ["D1 (queries)", load.d1 / LIMITS.d1QueriesPerSecond],
  [`D1 (storage, ${retainedMonths} months kept)`, (docsPerMonth * retainedMonths * bytesPerDoc) / LIMITS.d1Bytes],
  ["queue", load.queue / LIMITS.queueMessagesPerSecond],
  ["busiest tenant's object", bigTenantObjectRps / LIMITS.objectRequestsPerSecond],
].sort((a, b) => b[1] - a[1])[0];
console.log(`saturates first: ${first[0]} (${f(100 * first[1])} % of its limit on one instance)`);
const kept = docsPerMonth * retainedMonths * bytesPerDoc;
if (kept > LIMITS.d1AccountBytes * 0.7) {
  console.log(`account: ${f(kept / 1e9)} GB of D1 kept is past 70 % of the account's 1 TB: shorten retention or move cold rows out (R2)`);
}
console.log(`plan: ${shards} D1 shards (queries: ${shardsForQueries}, storage: ${shardsForBytes}), ${queues} job queue(s)`);
