// End-to-end test driver: starts the real local runtime (`wrangler dev`:
// workerd with local D1, R2 and Queues) with a throw-away state directory,
// runs every tests/e2e/*.test.mjs against it over HTTP, then stops the
// runtime it started. `node tests/e2e/run.mjs commands` runs matching files.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeLlm } from "../../scripts/fake-llm.mjs";
import { startServer } from "../../scripts/local-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const uploadLimit = 2 * 1024 * 1024;

let status = 1;
let server;
let llm;
try {
  // The LLM commands talk to a local OpenAI-compatible server (Workers AI
  // is remote-only), which the tests steer and inject faults into.
  llm = await startFakeLlm();
  // Generous defaults so the suite itself is not throttled; the rate-limit
  // tests use keys with their own, small limits.
  const vars = {
    MAX_UPLOAD_BYTES: String(uploadLimit),
    RATE_LIMITS: "read=20000/60,upload=5000/60,jobs=5000/60,public=5000/60",
    TENANT_RATE_LIMIT: "tenant=50000/60",
    LLM_PROVIDERS: `fake=openai:${llm.base}/v1`,
    LLM_TIERS: "small=fake/small|fake/small-b;large=fake/large|fake/large-b",
    LLM_PRICES: "fake/small=0.15:0.6,fake/small-b=0.15:0.6,fake/large=2.5:10,fake/large-b=2.5:10",
    LLM_TIMEOUT_SECONDS: "3",
    LLM_BREAKER_FAILURES: "3",
    LLM_BREAKER_COOLDOWN_SECONDS: "10",
    PLAN_BUDGETS: "llm-tiny:llm_tokens=10",
    // Rollups go to D1 after every request, so tests read them at once.
    METRICS_FLUSH_SECONDS: "0",
    // PDFs over 1.5 MB are read in parts of 25 pages (split.test.mjs);
    // every other document of the suite is smaller.
    SPLIT_MIN_BYTES: "1500000",
    SPLIT_PAGES: "25",
  };
  server = await startServer({ vars, logName: "e2e-wrangler" });
  const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.join(here, f));
  const only = process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  // Asynchronous, so this process keeps serving the fake LLM meanwhile.
  const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...selected], {
    stdio: "inherit",
    env: {
      ...process.env,
      QUIRE_URL: server.base,
      QUIRE_ADMIN_KEY: server.adminKey,
      QUIRE_OPERATOR_KEY: server.operatorKey,
      QUIRE_PERSIST_DIR: server.persist,
      QUIRE_FAKE_LLM: llm.base,
      QUIRE_LOG_FILE: server.logFile,
      QUIRE_UPLOAD_LIMIT: String(uploadLimit),
      QUIRE_CORPUS: path.resolve(root, "..", "shared", "corpus", "example-docs"),
    },
  });
  status = await new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
} catch (e) {
  console.error(`e2e: ${e.message}`);
} finally {
  if (server) {
    if (status !== 0) console.error(`e2e: last lines of ${server.logFile}:\n${server.logTail()}`);
    await server.stop();
  }
  await llm?.stop();
}
process.exit(status);
