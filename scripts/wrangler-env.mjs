// The environment every `wrangler dev` of this project runs with: no
// metrics sent, and scripts/loopback-keepalive.cjs preloaded into its Node
// process (why: that file).
import path from "node:path";
import { fileURLToPath } from "node:url";

const preload = path.join(path.dirname(fileURLToPath(import.meta.url)), "loopback-keepalive.cjs");

export function wranglerEnv(env = process.env) {
  const options = [env.NODE_OPTIONS, `--require=${JSON.stringify(preload)}`].filter(Boolean).join(" ");
  return { ...env, WRANGLER_SEND_METRICS: "false", NODE_OPTIONS: options };
}
