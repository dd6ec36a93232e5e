// End-to-end test driver: starts the real local runtime (`wrangler dev`:
// workerd with local D1, R2 and Queues) on a free port with a throw-away
// state directory, runs every tests/e2e/*.test.mjs against it over HTTP,
// then stops the runtime it started, by process group id.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareLocalDb } from "../../scripts/local-db.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const here = path.join(root, "tests", "e2e");
mkdirSync(path.join(root, ".tmp"), { recursive: true });
const persist = mkdtempSync(path.join(root, ".tmp", "e2e-state-"));
const logFile = path.join(root, ".tmp", "e2e-wrangler.log");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not become healthy in ${timeoutMs} ms`);
}

async function stop(child) {
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

const vars = prepareLocalDb(persist);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = openSync(logFile, "w");
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
const uploadLimit = 2 * 1024 * 1024;
const child = spawn(
  wrangler,
  [
    "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist,
    "--var", "ENABLE_TEST_ROUTES:true", "--var", "ENVIRONMENT:test",
    "--var", `MAX_UPLOAD_BYTES:${uploadLimit}`,
  ],
  { cwd: root, detached: true, stdio: ["ignore", log, log], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await stop(child);
    process.exit(130);
  });
}

let status = 1;
try {
  await waitForHealth(base, child, 180_000);
  const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.join(here, f));
  const only = process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  const result = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...selected], {
    stdio: "inherit",
    env: {
      ...process.env,
      QUIRE_URL: base,
      QUIRE_ADMIN_KEY: vars.ADMIN_API_KEY,
      QUIRE_UPLOAD_LIMIT: String(uploadLimit),
      QUIRE_CORPUS: path.resolve(root, "..", "shared", "corpus", "example-docs"),
    },
  });
  status = result.status ?? 1;
} catch (e) {
  console.error(`e2e: ${e.message}`);
} finally {
  await stop(child);
  if (status !== 0) {
    console.error(`e2e: last lines of ${logFile}:`);
    console.error(readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n"));
  }
  rmSync(persist, { recursive: true, force: true });
}
process.exit(status);
