// `npm run dev` after set-up: serves Quire with `wrangler dev` on
// 127.0.0.1 (PORT, default 8787) over the local state in .wrangler/state,
// and fires the cron triggers on their schedule, which `wrangler dev` does
// not do by itself (self-healing, SLO alerts, sweep, backups).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTicker } from "./ticker.mjs";
import { wranglerEnv } from "./wrangler-env.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = process.env.PORT ?? "8787";
const base = `http://127.0.0.1:${port}`;
const child = spawn(
  path.join(root, "node_modules", ".bin", "wrangler"),
  // Both workers in one session: the API (primary, on the port) and the
  // jobs worker. Extra arguments (`--var`) reach the API worker only.
  ["dev", "-c", "wrangler.toml", "-c", "wrangler.jobs.toml", "--ip", "127.0.0.1", "--port", port, "--persist-to", ".wrangler/state", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", env: wranglerEnv() },
);
const stopTicker = startTicker(base, {
  log: (m) => {
    if (!/: 200$/.test(m)) console.error(`[cron ticker] ${m}`);
  },
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => child.kill(sig));
}
child.on("exit", (code, signal) => {
  stopTicker();
  process.exit(code ?? (signal ? 130 : 1));
});
