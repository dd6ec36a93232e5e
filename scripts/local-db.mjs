// Applies the D1 migrations to a local persisted state directory and seeds
// the development tenant, whose admin key is ADMIN_API_KEY from .dev.vars.
// Usage: node scripts/local-db.mjs <persist-dir>. Idempotent.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");

export function readDevVars(file = path.join(root, ".dev.vars")) {
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

function run(args, persistDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(wrangler, [...args, "--local", "--persist-to", persistDir], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`wrangler ${args.join(" ")}: exit ${code}`))));
  });
}

export async function prepareLocalDb(persistDir) {
  const vars = readDevVars();
  if (!vars.ADMIN_API_KEY || !vars.API_KEY_PEPPER) {
    throw new Error(".dev.vars must set ADMIN_API_KEY and API_KEY_PEPPER");
  }
  const hash = createHmac("sha256", vars.API_KEY_PEPPER).update(vars.ADMIN_API_KEY).digest("hex");
  const now = Date.now();
  const prefix = vars.ADMIN_API_KEY.slice(0, 14);
  // Values are ours (hex, fixed ids) or checked above; no user input here.
  const sql =
    `INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES ('ten_dev', 'Development', ${now});` +
    `INSERT OR IGNORE INTO api_keys (id, tenant_id, name, prefix, hash, role, created_at) ` +
    `VALUES ('key_devadmin', 'ten_dev', 'development admin', '${prefix.replace(/'/g, "")}', '${hash}', 'owner', ${now});`;
  // The directory (also shard 0), the second local shard and the EU one,
  // then the seed. One after another: wrangler processes sharing a state
  // directory at once can meet on a locked SQLite file (SQLITE_BUSY, seen
  // in the e2e suite), which fails a server's start.
  for (const db of ["DB", "DB_1", "DB_2"]) await run(["d1", "migrations", "apply", db], persistDir);
  await run(["d1", "execute", "DB", "--command", sql], persistDir);
  return vars;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await prepareLocalDb(path.resolve(root, process.argv[2] ?? ".wrangler/state"));
  console.error("local-db: migrations applied, development tenant seeded");
}
