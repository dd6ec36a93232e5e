// `npm run bench:llm`: a fixed LLM workload, naive vs optimised.
//
// Starts the fake OpenAI-compatible server (scripts/fake-llm.mjs, paced like
// a hosted model: a fixed latency per call plus time per token) and
// `wrangler dev` twice: with LLM_OPTIMIZE=off (one call per command, no
// compression, no cache, every command on the large tier) and with the
// optimisations on (routing, compression, batching, cache). Each run sends
// the same workload — corpus documents × LLM commands, all of it twice, as
// clients repeat requests — and reports calls, tokens, estimated cost and
// wall time from the provider's own counters.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeLlm } from "./fake-llm.mjs";
import { startServer } from "./local-server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = path.resolve(root, "..", "shared", "corpus", "example-docs");
const DOCS = [
  ["pdf/layout-parser-paper-fast.pdf", "application/pdf"],
  ["example-10k-1p.html", "text/html"],
  ["book-war-and-peace-1p.txt", "text/plain"],
  ["fake-email.eml", "message/rfc822"],
  ["pdf/fake-memo.pdf", "application/pdf"],
  ["fake.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
];
const COMMANDS = [
  { name: "summarize", options: { length: "short" } },
  { name: "classify", options: { labels: ["research paper", "financial filing", "novel", "email", "memo", "other"] } },
  { name: "extract_fields", options: { schema: { type: "object", properties: { title: { type: "string" }, author: { type: ["string", "null"] } } } } },
  { name: "ask", options: { question: "What is the main subject of this document?" } },
];
const PASSES = 2;
// Prices of the two tiers (USD per million input:output tokens), the same
// for both runs, so costs compare.
const PRICES = "fake/small=0.15:0.6,fake/large=2.5:10";

async function workload(base, key, llm) {
  const headers = { authorization: `Bearer ${key}` };
  const ids = [];
  for (const [file, type] of DOCS) {
    const r = await fetch(`${base}/v1/documents`, {
      method: "POST",
      headers: { ...headers, "content-type": type, "x-filename": path.basename(file) },
      body: readFileSync(path.join(corpus, file)),
    });
    if (r.status !== 201) throw new Error(`upload ${file}: ${r.status} ${await r.text()}`);
    ids.push((await r.json()).id);
  }
  const started = Date.now();
  let failed = 0;
  let degraded = 0;
  let firstPass = null;
  for (let pass = 0; pass < PASSES; pass++) {
    const jobs = [];
    for (const id of ids) {
      const r = await fetch(`${base}/v1/jobs`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ document_id: id, commands: COMMANDS }),
      });
      if (r.status !== 202) throw new Error(`job: ${r.status} ${await r.text()}`);
      jobs.push((await r.json()).id);
    }
    for (const id of jobs) {
      for (;;) {
        const j = await (await fetch(`${base}/v1/jobs/${id}`, { headers })).json();
        if (j.status === "succeeded" || j.status === "failed") {
          if (j.status === "failed") failed += 1;
          degraded += j.command_progress.filter((c) => c.llm?.degraded).length;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (pass === 0) firstPass = { ...(await llm.stats()), wall_s: (Date.now() - started) / 1000 };
  }
  return { wall_s: (Date.now() - started) / 1000, failed, degraded, firstPass };
}

const llm = await startFakeLlm();
const rows = [];
try {
  for (const [label, optimize] of [["naive", "off"], ["optimised", "on"]]) {
    await llm.control({ reset: true });
    await llm.control({ latency_ms: 250, ms_per_token: 0.02 });
    const server = await startServer({
      logName: "bench-llm",
      vars: {
        LLM_PROVIDERS: `fake=openai:${llm.base}/v1`,
        LLM_TIERS: "small=fake/small;large=fake/large",
        LLM_PRICES: PRICES,
        LLM_OPTIMIZE: optimize,
        RATE_LIMITING: "off",
      },
    });
    try {
      const run = await workload(server.base, server.adminKey, llm);
      const s = await llm.stats();
      const costOf = (stats) =>
        Object.entries(stats.by_model).reduce((sum, [model, m]) => {
          const [i, o] = PRICES.split(",").find((p) => p.startsWith(`fake/${model}=`)).split("=")[1].split(":").map(Number);
          return sum + (m.input_tokens * i + m.output_tokens * o) / 1e6;
        }, 0);
      const first = run.firstPass;
      rows.push({ label: `${label}, first pass`, ...first, failed: "", degraded: "", cost: costOf(first) });
      rows.push({ label: `${label}, both passes`, ...run, ...s, cost: costOf(s) });
    } finally {
      await server.stop();
    }
  }
} finally {
  await llm.stop();
}
const jobs = DOCS.length * PASSES;
console.log(`Workload: ${DOCS.length} corpus documents × ${COMMANDS.length} LLM commands, sent ${PASSES} times (${jobs} jobs, ${jobs * COMMANDS.length} commands).\n`);
console.log("| run | calls | input tokens | output tokens | est. cost USD | wall s | failed jobs | degraded |\n|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.label} | ${r.calls} | ${r.input_tokens} | ${r.output_tokens} | ${r.cost.toFixed(4)} | ${r.wall_s.toFixed(1)} | ${r.failed} | ${r.degraded} |`);
}
const [, naive, , opt] = rows;
if (naive && opt) {
  const pct = (a, b) => `${(100 * (1 - b / a)).toFixed(0)} %`;
  console.log(`\nOptimised vs naive: ${pct(naive.calls, opt.calls)} fewer calls, ${pct(naive.input_tokens + naive.output_tokens, opt.input_tokens + opt.output_tokens)} fewer tokens, ${pct(naive.cost, opt.cost)} lower cost, ${pct(naive.wall_s, opt.wall_s)} less wall time.`);
}
