// Starts `wrangler dev` (workerd with local D1, R2, Queues) on a free port,
// both workers in one session (the API worker, primary, on the port; the
// jobs worker beside it), with a throw-away state directory, prepared like
// `npm run dev`; returns
// its URL, the admin key and a stop() that ends the process group it
// started. Used by the e2e tests and the benchmarks.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { jobsConfig } from "./jobs-config.mjs";
import { prepareLocalDb, readDevVars } from "./local-db.mjs";
import { startTicker } from "./ticker.mjs";
import { wranglerEnv } from "./wrangler-env.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A state directory with every database migrated and the development
 * tenant seeded, made once per set of migrations, `.dev.vars` and seed
 * script (a
 * dozen wrangler starts of the e2e suite would otherwise each spend
 * ~17 s applying three databases' migrations). Made under another name
 * and renamed into place, so concurrent starts never share one being made.
 */
async function preparedTemplate() {
  const hash = createHash("sha256");
  const migrations = path.join(root, "migrations");
  for (const f of readdirSync(migrations).sort()) hash.update(f).update(readFileSync(path.join(migrations, f)));
  hash.update(readFileSync(path.join(root, ".dev.vars")));
  hash.update(readFileSync(path.join(root, "scripts", "local-db.mjs")));
  const dir = path.join(root, ".tmp", `db-template-${hash.digest("hex").slice(0, 16)}`);
  if (!existsSync(dir)) {
    const making = mkdtempSync(path.join(root, ".tmp", "db-making-"));
    await prepareLocalDb(making);
    try {
      renameSync(making, dir);
    } catch {
      // Another start made it first.
      rmSync(making, { recursive: true, force: true });
    }
  }
  return dir;
}

async function waitForHealth(base, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not become healthy in ${timeoutMs} ms`);
}

async function stopChild(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM"); // the group we created: wrangler + workerd
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * vars: extra `--var` settings, e.g. { MAX_UPLOAD_BYTES: "1024" }.
 * ticker: fire the cron triggers on their schedule (wrangler dev does not),
 * so self-healing runs as it does when deployed.
 */
export async function startServer({ vars = {}, logName = "wrangler", persistDir, keepState = false, ticker = true, waitForHealthy = true } = {}) {
  mkdirSync(path.join(root, ".tmp"), { recursive: true });
  // An existing state directory is reused (a restart); a new one is made
  // otherwise, and removed on stop unless keepState.
  const persist = persistDir ?? mkdtempSync(path.join(root, ".tmp", "state-"));
  const owned = !persistDir && !keepState;
  const logFile = path.join(root, ".tmp", `${logName}.log`);
  // A new state starts as a copy of the prepared one; one being reused
  // (a restart) is brought up to date in place.
  let devVars;
  if (!existsSync(persist) || readdirSync(persist).length === 0) {
    cpSync(await preparedTemplate(), persist, { recursive: true });
    devVars = readDevVars();
  } else {
    devVars = await prepareLocalDb(persist);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const allVars = { ENABLE_TEST_ROUTES: "true", ENVIRONMENT: "test", ...vars };
  // The jobs worker's copy of its configuration, with the same vars.
  const jobsDir = mkdtempSync(path.join(root, ".tmp", "jobs-"));
  const args = ["dev", "-c", "wrangler.toml", "-c", jobsConfig(jobsDir, allVars),
    "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist];
  for (const [k, v] of Object.entries(allVars)) {
    args.push("--var", `${k}:${v}`);
  }
  const log = openSync(logFile, "w");
  const child = spawn(path.join(root, "node_modules", ".bin", "wrangler"), args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", log, log],
    env: wranglerEnv(),
  });
  let stopTicker = () => {};
  const stop = async () => {
    stopTicker();
    await stopChild(child);
    rmSync(jobsDir, { recursive: true, force: true });
    if (owned) rmSync(persist, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      await stop();
      process.exit(130);
    });
  }
  try {
    // Start-up includes wrangler's [build] step: quick after a build, but
    // a build from cold (npm run bench:* on a fresh checkout) takes minutes.
    // (`waitForHealthy: false`: the caller times the first request itself.)
    if (waitForHealthy) await waitForHealth(base, child, 600_000);
  } catch (e) {
    await stop();
    throw e;
  }
  if (ticker) stopTicker = startTicker(base);
  return { base, persist, adminKey: devVars.ADMIN_API_KEY, operatorKey: devVars.OPERATOR_API_KEY, pid: child.pid, logFile, stop, logTail: () => readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n") };
}
