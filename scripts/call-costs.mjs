// What one request of each route, and one job, cost in calls to D1, R2,
// the queue and Durable Objects, read from a `wrangler dev` log of Quire
// (LOG_CALLS on, as the harness runs it): the measured inputs of
// docs/SCALING.md. `node scripts/call-costs.mjs .tmp/e2e-wrangler.log`
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const OBJECTS = new Set(["tenant", "limiter", "breaker"]);

function add(map, key, calls) {
  const row = map.get(key) ?? { n: 0, d1: 0, r2: 0, queue: 0, objects: 0 };
  row.n += 1;
  for (const c of calls) {
    if (c.dependency === "d1") row.d1 += 1;
    else if (c.dependency === "r2") row.r2 += 1;
    else if (c.dependency === "queue") row.queue += 1;
    else if (OBJECTS.has(c.dependency)) row.objects += 1;
  }
  map.set(key, row);
}

/// Mean calls per successful request of each route ("METHOD Route"), and
/// per job over all its runs ("job").
export function costs(logText) {
  const perRoute = new Map();
  const perJob = new Map();
  // Calls made after a request's line (work after the response, a
  // streamed body) are logged one line each, under the request id.
  const requests = new Map();
  const later = new Map();
  for (const line of logText.split("\n")) {
    const at = line.indexOf("{");
    if (at < 0) continue;
    let j;
    try {
      j = JSON.parse(line.slice(at));
    } catch {
      continue;
    }
    if (j.msg === "request" && Array.isArray(j.calls) && j.status < 400) {
      requests.set(j.request_id, { route: `${j.method} ${j.route}`, calls: j.calls });
    }
    if (j.msg === "call" && typeof j.scope === "string" && j.scope.startsWith("req_")) {
      later.set(j.scope, [...(later.get(j.scope) ?? []), j]);
    }
    // A job's calls are logged one line each, under its job id.
    if (j.msg === "call" && typeof j.scope === "string" && j.scope.startsWith("job_")) {
      const calls = perJob.get(j.scope) ?? [];
      calls.push(j);
      perJob.set(j.scope, calls);
    }
  }
  for (const [id, r] of requests) add(perRoute, r.route, [...r.calls, ...(later.get(id) ?? [])]);
  const jobs = new Map();
  for (const calls of perJob.values()) add(jobs, "job", calls);
  const mean = (r) => ({ n: r.n, d1: r.d1 / r.n, r2: r.r2 / r.n, queue: r.queue / r.n, objects: r.objects / r.n });
  return {
    routes: Object.fromEntries([...perRoute].map(([k, r]) => [k, mean(r)])),
    job: jobs.has("job") ? mean(jobs.get("job")) : null,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { routes, job } = costs(readFileSync(process.argv[2], "utf8"));
  const f = (x) => x.toFixed(1);
  const line = (k, r) => `  ${k.padEnd(40)} n=${String(r.n).padStart(5)}  d1=${f(r.d1)}  r2=${f(r.r2)}  queue=${f(r.queue)}  objects=${f(r.objects)}`;
  console.log("per request (mean calls, successful requests):");
  for (const [k, r] of Object.entries(routes).sort((a, b) => b[1].n - a[1].n)) console.log(line(k, r));
  if (job) console.log(`per job (mean calls over all its runs):\n${line("job", job)}`);
}
