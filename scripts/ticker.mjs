// Fires the Worker's cron triggers on their schedule against a local
// `wrangler dev`, which does not run them by itself: self-healing, the SLO
// pass, the sweep and the daily backup then run locally as they do when
// deployed. The schedules are read from wrangler.toml's top-level
// [triggers]. Used by `npm run dev`, the e2e harness and the benchmarks.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The top-level `crons = [...]` of wrangler.toml (the first one there). */
export function localCrons(file = path.join(root, "wrangler.toml")) {
  const m = readFileSync(file, "utf8").match(/^crons\s*=\s*\[([^\]]*)\]/m);
  return m ? [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]) : [];
}

function fieldMatches(field, value) {
  return field.split(",").some((part) => {
    const [range, step] = part.split("/");
    const every = step ? Number(step) : 1;
    if (range === "*") return value % every === 0;
    const [lo, hi] = range.split("-").map(Number);
    const top = hi ?? (step ? Infinity : lo);
    return value >= lo && value <= top && (value - lo) % every === 0;
  });
}

/** Whether a five-field cron expression matches a UTC minute. */
export function cronMatches(expr, date) {
  const [min, hour, dom, mon, dow] = expr.trim().split(/\s+/);
  return (
    fieldMatches(min, date.getUTCMinutes()) &&
    fieldMatches(hour, date.getUTCHours()) &&
    fieldMatches(dom, date.getUTCDate()) &&
    fieldMatches(mon, date.getUTCMonth() + 1) &&
    fieldMatches(dow, date.getUTCDay())
  );
}

/**
 * Starts firing `crons` at `base` at the top of every minute; returns
 * stop(). A run that fails (the runtime restarting, say) is logged and the
 * next minute tries again.
 */
export function startTicker(base, { crons = localCrons(), log = () => {} } = {}) {
  let timer;
  let stopped = false;
  const fire = async () => {
    const now = new Date();
    for (const cron of crons.filter((c) => cronMatches(c, now))) {
      try {
        const r = await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`, {
          signal: AbortSignal.timeout(55_000),
        });
        await r.arrayBuffer();
        log(`cron ${cron}: ${r.status}`);
      } catch (e) {
        log(`cron ${cron}: ${e.message}`);
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    const wait = 60_000 - (Date.now() % 60_000) + 50;
    timer = setTimeout(async () => {
      await fire();
      schedule();
    }, wait);
    timer.unref?.();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // node scripts/ticker.mjs http://127.0.0.1:8787
  const base = process.argv[2] ?? "http://127.0.0.1:8787";
  startTicker(base, { log: (m) => console.log(`ticker: ${m}`) });
  setInterval(() => {}, 1 << 30);
}
