// Reproduces the local queue stall (issue: jobs stuck `queued` under a burst):
// starts `wrangler dev`, makes two tenants, sends JOBS job creations from
// CLIENTS concurrent clients on one 1.8 MB text, polls, and prints how many
// ended. `node scripts/burst.mjs [jobs] [clients]`.
// BURST_TOUCH_S=N touches src/lib.rs N seconds into the burst, which makes
// `wrangler dev` rebuild and restart the runtime (its in-memory queue with
// it); BURST_TICKER=0 runs without the local cron ticker (no self-healing).
import { utimesSync } from "node:fs";
import { startServer } from "./local-server.mjs";

const JOBS = Number(process.argv[2] ?? 300);
const CLIENTS = Number(process.argv[3] ?? 8);
const WAIT_S = Number(process.env.BURST_WAIT_S ?? 300);

const server = await startServer({
  vars: { RATE_LIMITING: "off", MAX_ACTIVE_JOBS_PER_TENANT: "1000" },
  logName: process.env.BURST_LOG ?? "burst",
  ticker: process.env.BURST_TICKER !== "0",
});
if (process.env.BURST_TOUCH_S) {
  setTimeout(() => {
    const now = new Date();
    utimesSync(new URL("../src/lib.rs", import.meta.url), now, now);
    console.log("touched src/lib.rs: wrangler dev rebuilds and restarts the runtime");
  }, Number(process.env.BURST_TOUCH_S) * 1000);
}
const call = async (key, method, route, body, type = "application/json") => {
  const r = await fetch(`${server.base}${route}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": type }, body, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, json: await r.json().catch(() => null) };
};
try {
  const tenants = [];
  for (const name of ["burst-a", "burst-b"]) {
    const t = await call(server.operatorKey, "POST", "/v1/tenants", JSON.stringify({ name }));
    tenants.push(t.json.owner_key.secret);
  }
  const words = "quire queue burst alpha beta gamma delta epsilon zeta eta theta".split(" ");
  let text = "";
  for (let i = 0; text.length < 1_800_000; i++) text += `${words[i % words.length]} ${words[(i * 7) % words.length]}${i % 13 === 0 ? ".\n" : " "}`;
  const doc = await call(tenants[0], "POST", "/v1/documents", text, "text/plain");
  if (doc.status !== 201) throw new Error(`upload: ${doc.status} ${JSON.stringify(doc.json)}`);
  const ids = [];
  const statuses = {};
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < JOBS) {
      next++;
      const r = await call(tenants[0], "POST", "/v1/jobs", JSON.stringify({
        document_id: doc.json.id,
        commands: [{ name: "keywords" }, { name: "summarize_extractive" }, { name: "chunk" }],
      })).catch((e) => ({ status: e.name }));
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 202) ids.push(r.json.id);
    }
  }));
  console.log(`sent ${JOBS} in ${Date.now() - t0} ms: ${JSON.stringify(statuses)}`);
  const deadline = Date.now() + WAIT_S * 1000;
  let last = "";
  let stillSince = Date.now();
  let probed = false;
  for (;;) {
    const states = {};
    let deliveries0 = 0;
    for (let i = 0; i < ids.length; i += 20) {
      const got = await Promise.all(ids.slice(i, i + 20).map((id) => call(tenants[0], "GET", `/v1/jobs/${id}`).catch((e) => ({ json: { status: `error ${e.name}` } }))));
      for (const g of got) {
        states[g.json.status] = (states[g.json.status] ?? 0) + 1;
        if (g.json.status === "queued" && g.json.deliveries === 0) deliveries0++;
      }
    }
    const line = `${Math.round((Date.now() - t0) / 1000)} s: ${JSON.stringify(states)} queued-undelivered ${deliveries0}`;
    if (line !== last) {
      console.log(line);
      stillSince = Date.now();
    } else if (Date.now() - stillSince > 20_000 && !probed) {
      probed = true;
      const t = Date.now();
      const h = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status, (e) => String(e));
      const g = await fetch(`${server.base}/v1/documents?limit=1`, { headers: { authorization: `Bearer ${tenants[0]}` }, signal: AbortSignal.timeout(10_000) }).then((r) => r.status, (e) => String(e));
      console.log(`probe after stall: /health ${h}, GET documents ${g} (${Date.now() - t} ms)`);
    }
    last = line;
    const ended = (states.succeeded ?? 0) + (states.failed ?? 0);
    if (ended === ids.length || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
} finally {
  await server.stop();
}
