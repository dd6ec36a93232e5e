// The jobs worker's configuration for a local `wrangler dev` whose API
// worker is given extra vars (`--var`, the e2e harness and benchmarks):
// wrangler applies `--var` to the primary worker only, so the jobs worker
// gets a copy of wrangler.jobs.toml in `dir`, beside a .dev.vars that is
// the project's with those vars laid over it (.dev.vars overrides [vars]).
// Both workers then read one configuration, as they do when deployed.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readDevVars } from "./local-db.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Writes dir/wrangler.jobs.toml and dir/.dev.vars; returns the config's path. */
export function jobsConfig(dir, vars) {
  const text = readFileSync(path.join(root, "wrangler.jobs.toml"), "utf8");
  const main = JSON.stringify(path.join(root, "js", "jobs.mjs"));
  const config = text.replace(/^main = .*$/m, `main = ${main}`);
  if (config === text) throw new Error("wrangler.jobs.toml: no main = line");
  const devVars = { ...readDevVars(), ...vars };
  const lines = Object.entries(devVars).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`);
  const file = path.join(dir, "wrangler.jobs.toml");
  writeFileSync(file, config);
  writeFileSync(path.join(dir, ".dev.vars"), lines.join("\n") + "\n");
  return file;
}
