// Drill: D1 down. The runtime is restarted on the same state with every D1
// call failing before it is made (FAULTS="d1=1:down", an outage, not a
// timeout after a commit). Liveness stays up and /ready says which part
// is down; every read and write that needs D1 is refused with 503 and
// Retry-After, job intake too, and nothing is half done: restarted
// without the fault, the data from before is all there and the refused
// requests left no rows. Runs its own `wrangler dev`.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../../scripts/local-server.mjs";
import { localSql } from "./helpers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const vars = { RATE_LIMITING: "off" };

async function call(server, method, route, body, type = "application/json") {
  const r = await fetch(`${server.base}${route}`, {
    method,
    headers: { authorization: `Bearer ${server.adminKey}`, "content-type": type },
    body,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, json };
}

test("with D1 down, reads and writes are refused with 503 and Retry-After, /ready says d1, and nothing is half done", { timeout: 300_000 }, async () => {
  const persist = mkdtempSync(path.join(root, ".tmp", "outage-"));
  try {
    let server = await startServer({ logName: "outage-before", persistDir: persist, vars });
    const doc = await call(server, "POST", "/v1/documents", "Kept through the outage.", "text/plain");
    assert.equal(doc.status, 201);
    const job = await call(server, "POST", "/v1/jobs", JSON.stringify({ document_id: doc.json.id, commands: [{ name: "extract" }] }));
    assert.equal(job.status, 202);
    for (let i = 0; i < 60; i++) {
      const j = await call(server, "GET", `/v1/jobs/${job.json.id}`);
      if (j.json?.status === "succeeded") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await server.stop();

    server = await startServer({ logName: "outage-down", persistDir: persist, vars: { ...vars, FAULTS: "d1=1:down" } });
    const health = await fetch(`${server.base}/health`);
    assert.equal(health.status, 200, "liveness does not depend on D1");
    const ready = await fetch(`${server.base}/ready`);
    assert.equal(ready.status, 503);
    const checks = (await ready.json()).checks;
    assert.deepEqual(checks, { d1: "unavailable", r2: "ok", queue: "ok" });
    const refused = [
      await call(server, "GET", `/v1/documents/${doc.json.id}`),
      await call(server, "GET", `/v1/jobs/${job.json.id}/result`),
      await call(server, "POST", "/v1/documents", "Written during the outage.", "text/plain"),
      await call(server, "POST", "/v1/jobs", JSON.stringify({ document_id: doc.json.id, commands: [{ name: "stats" }] })),
      await call(server, "DELETE", `/v1/documents/${doc.json.id}`),
    ];
    for (const r of refused) {
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      assert.ok(Number(r.headers.get("retry-after")) > 0, "Retry-After");
    }
    await server.stop();

    server = await startServer({ logName: "outage-after", persistDir: persist, vars });
    const kept = await call(server, "GET", `/v1/documents/${doc.json.id}`);
    assert.equal(kept.status, 200, "the document from before is there");
    const result = await call(server, "GET", `/v1/jobs/${job.json.id}/result`);
    assert.equal(result.status, 200);
    assert.match(result.json.text, /Kept through the outage/);
    const rows = localSql("SELECT (SELECT COUNT(*) FROM documents) AS documents, (SELECT COUNT(*) FROM jobs) AS jobs", { persist })[0];
    assert.deepEqual(rows, { documents: 1, jobs: 1 }, "the refused writes left no rows");
    await server.stop();
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
});
