// Reads a `wrangler dev` log of Quire (LOG_CALLS on, as the harness runs
// it) and prints what one request of each route, and one job message,
// cost in calls to D1, R2, the queue and Durable Objects: the measured
// inputs of docs/SCALING.md. Usage: node scripts/call-costs.mjs .tmp/fair.log
import { readFileSync } from "node:fs";

const lines = readFileSync(process.argv[2], "utf8").split("\n");
const perRoute = new Map();
const perMessage = new Map();
const add = (map, key, calls) => {
  const row = map.get(key) ?? { n: 0, d1: 0, r2: 0, queue: 0, objects: 0 };
  row.n += 1;
  for (const c of calls) {
    if (c.dependency === "d1") row.d1 += 1;
    else if (c.dependency === "r2") row.r2 += 1;
    else if (c.dependency === "queue") row.queue += 1;
    else if (c.dependency === "tenant" || c.dependency === "limiter" || c.dependency === "breaker") row.objects += 1;
  }
  map.set(key, row);
};
const byScope = new Map();
for (const line of lines) {
  const at = line.indexOf("{");
  if (at < 0) continue;
  let j;
  try { j = JSON.parse(line.slice(at)); } catch { continue; }
  if (j.msg === "request" && Array.isArray(j.calls) && j.status < 400) add(perRoute, `${j.method} ${j.route}`, j.calls);
  // A job message's calls are logged one line each, under its job id.
  if (j.msg === "call" && typeof j.scope === "string" && j.scope.startsWith("job_")) {
    const calls = byScope.get(j.scope) ?? [];
    calls.push(j);
    byScope.set(j.scope, calls);
  }
}
for (const calls of byScope.values()) add(perMessage, "job (all its runs)", calls);
const show = (title, map) => {
  console.log(title);
  for (const [k, r] of [...map].sort((a, b) => b[1].n - a[1].n)) {
    const f = (x) => (x / r.n).toFixed(1);
    console.log(`  ${k.padEnd(36)} n=${String(r.n).padStart(5)}  d1=${f(r.d1)}  r2=${f(r.r2)}  queue=${f(r.queue)}  objects=${f(r.objects)}`);
  }
};
show("per request (mean calls, successful requests):", perRoute);
show("per job (mean calls over every run of it):", perMessage);
