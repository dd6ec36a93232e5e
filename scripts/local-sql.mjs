// SQL against a `wrangler dev` server's local databases (tests and benchmarks).
import { execFileSync } from "node:child_process";

/**
 * Runs SQL on the local D1 beside the running server (`wrangler d1
 * execute`), its raw output returned. The server's own writes can hold the
 * file for a moment (SQLITE_BUSY): such a statement is tried again, up to
 * six times a second apart. With `json`, the rows of the first statement.
 * `db` is the database's binding: `DB` (the directory and shard 0) or a
 * shard's (`DB_1`; see `tenantDb`).
 */
export function localSql(command, { persist = process.env.QUIRE_PERSIST_DIR, json = true, db = "DB" } = {}) {
  const root = new URL("..", import.meta.url).pathname;
  const args = ["d1", "execute", db, "--local", "--persist-to", persist, ...(json ? ["--json"] : []), "--command", command];
  for (let attempt = 1; ; attempt++) {
    try {
      const out = execFileSync(`${root}node_modules/.bin/wrangler`, args, {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
      }).toString();
      return json ? JSON.parse(out)[0].results : out;
    } catch (e) {
      if (attempt >= 6 || !String(e.message).includes("SQLITE_BUSY")) throw e;
      execFileSync("sleep", ["1"]);
    }
  }
}
