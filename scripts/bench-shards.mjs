// `npm run bench:shards`: what sharding costs, side by side in one
// `wrangler dev` with its two local shards.
//  1. Per request: the same reads by a tenant on shard 0 and one on
//     shard 1: latency percentiles and D1 queries per request (from the
//     server's call log). The directory lookup rides on the key read, so
//     the shard costs no query of its own.
//  2. A move: tenants of 10, 100 and 400 documents (each with a finished
//     job) moved to the other shard; the move's duration is the tenant's
//     write freeze. Baseline: listing the same tenant's documents (one
//     request reading its rows), timed just before.
import { startServer } from "./local-server.mjs";

const READS = Number(process.env.SHARD_READS ?? 200);
const SIZES = (process.env.SHARD_SIZES ?? "10,100,400").split(",").map(Number);

async function call(server, key, method, route, body, headers = {}) {
  const r = await fetch(`${server.base}${route}`, { method, headers: { authorization: `Bearer ${key}`, ...headers }, body });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, id: r.headers.get("x-request-id") };
}
const post = (server, key, route, body) => call(server, key, "POST", route, JSON.stringify(body), { "content-type": "application/json" });

async function tenant(server, name) {
  const t = await post(server, server.operatorKey, "/v1/tenants", { name });
  if (t.status !== 201) throw new Error(`tenant: ${t.status} ${t.text}`);
  return { id: t.json.tenant.id, shard: t.json.tenant.shard, key: t.json.owner_key.secret };
}

async function fill(server, t, docs) {
  let last;
  for (let i = 0; i < docs; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, docs - i) }, async (_, j) => {
      const d = await call(server, t.key, "POST", "/v1/documents", `document ${i + j} of ${t.id}`, { "content-type": "text/plain" });
      if (d.status !== 201) throw new Error(`upload: ${d.status} ${d.text}`);
      last = await post(server, t.key, "/v1/jobs", { document_id: d.json.id, commands: [{ name: "stats" }] });
    }));
  }
  // Every job finished (a move refuses a tenant with work in flight).
  for (;;) {
    const open = await call(server, t.key, "GET", "/v1/jobs?status=queued&limit=1");
    const running = await call(server, t.key, "GET", "/v1/jobs?status=running&limit=1");
    if (!open.json.data.length && !running.json.data.length) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

const server = await startServer({ logName: "bench-shards", vars: { RATE_LIMITING: "off", METRICS_FLUSH_SECONDS: "60" } });
try {
  // 1. The same reads on either shard.
  const a = await tenant(server, "bench A");
  const b = await tenant(server, "bench B");
  const onShard = { [a.shard]: a, [b.shard]: b };
  for (const t of [a, b]) await fill(server, t, 5);
  const ids = new Set();
  const times = { 0: [], 1: [] };
  for (let i = 0; i < READS; i++) {
    for (const shard of [0, 1]) {
      const t0 = performance.now();
      const r = await call(server, onShard[shard].key, "GET", "/v1/documents?limit=5");
      times[shard].push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`list: ${r.status}`);
      ids.add(r.id);
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  const { readFileSync } = await import("node:fs");
  const log = readFileSync(server.logFile, "utf8");
  const d1 = { 0: [], 1: [] };
  for (const line of log.split("\n")) {
    const at = line.indexOf("{");
    if (at < 0 || !line.includes('"msg":"request"')) continue;
    let v;
    try { v = JSON.parse(line.slice(at)); } catch { continue; }
    if (!ids.has(v.request_id) || v.path !== "/v1/documents") continue;
    const shard = v.tenant_id === onShard[0].id ? 0 : 1;
    d1[shard].push((v.calls ?? []).filter((c) => c.dependency === "d1").length);
  }
  for (const shard of [0, 1]) {
    const q = d1[shard];
    console.log(`read-shard-${shard}: ${READS} GET /v1/documents: p50 ${pct(times[shard], 0.5).toFixed(1)} ms, ` +
      `p90 ${pct(times[shard], 0.9).toFixed(1)} ms; D1 queries per request ${(q.reduce((s, n) => s + n, 0) / q.length).toFixed(2)}`);
  }
  console.log(`read-ratio: p50 shard 1 / shard 0 = ${(pct(times[1], 0.5) / pct(times[0], 0.5)).toFixed(2)}`);

  // 2. Moves of growing tenants.
  for (const size of SIZES) {
    const t = await tenant(server, `bench move ${size}`);
    await fill(server, t, size);
    const l0 = performance.now();
    const listed = await call(server, t.key, "GET", "/v1/documents?limit=100");
    const listMs = performance.now() - l0;
    if (listed.status !== 200) throw new Error(`list: ${listed.status}`);
    // A job's end is written a moment after the API shows it: a move
    // refused as busy (409, freeze lifted) is tried again.
    let moved, moveMs, busy = 0;
    for (;;) {
      const m0 = performance.now();
      moved = await post(server, server.operatorKey, `/v1/tenants/${t.id}/move`, { shard: 1 - t.shard });
      moveMs = performance.now() - m0;
      if (moved.status !== 409 || busy >= 20) break;
      busy += 1;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (moved.status !== 200) throw new Error(`move: ${moved.status} ${moved.text}`);
    const rows = Object.values(moved.json.rows).reduce((s, n) => s + n, 0);
    const after = await call(server, t.key, "GET", "/v1/documents?limit=1");
    console.log(`move-${size}: ${rows} rows (${JSON.stringify(moved.json.rows)}) moved in ${moveMs.toFixed(0)} ms ` +
      `(write freeze); baseline GET /v1/documents?limit=100 ${listMs.toFixed(1)} ms; reads after: ${after.status}` +
      (busy ? `; ${busy} earlier tries refused as busy` : ""));
  }
} finally {
  await server.stop();
}
