// A single-request upload larger than one part streams to R2 as it
// arrives (encrypted part by part, hashed on the way), with the default
// 100 MB limit. Runs its own `wrangler dev` (the shared one caps uploads
// at 2 MiB for the limit tests).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { startServer } from "../../scripts/local-server.mjs";
import { callsIn } from "./helpers.mjs";

test("a 30 MB body streams into storage and comes back whole", { timeout: 180_000 }, async () => {
  const server = await startServer({ logName: "streaming", vars: { RATE_LIMITING: "off" } });
  try {
    const size = 30_000_000;
    const body = Buffer.alloc(size);
    body.fill("Streamed straight to storage, one part at a time.\n");
    const sha256 = createHash("sha256").update(body).digest("hex");
    const auth = { authorization: `Bearer ${server.adminKey}` };
    const up = await fetch(`${server.base}/v1/documents`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain", "x-filename": "big.txt" },
      body,
    });
    const doc = await up.json();
    assert.equal(up.status, 201, JSON.stringify(doc));
    assert.equal(doc.sha256, sha256);
    assert.equal(doc.size_bytes, size);
    // It went to R2 in parts, not as one buffered put.
    await new Promise((r) => setTimeout(r, 300));
    const requestId = up.headers.get("x-request-id");
    const ops = callsIn(readFileSync(server.logFile, "utf8"), requestId)
      .filter((c) => c.dependency === "r2")
      .map((c) => c.op);
    assert.equal(ops.filter((o) => o === "upload part").length, Math.ceil(size / (8 * 1024 * 1024)), JSON.stringify(ops));
    assert.ok(!ops.includes("put") || ops.filter((o) => o === "put").length === 1, "only the small key header is a plain put");

    const down = await fetch(`${server.base}/v1/documents/${doc.id}/content`, { headers: { ...auth, "accept-encoding": "identity" } });
    assert.equal(down.status, 200);
    const hash = createHash("sha256");
    let got = 0;
    for await (const chunk of down.body) {
      hash.update(chunk);
      got += chunk.length;
    }
    assert.equal(got, size);
    assert.equal(hash.digest("hex"), sha256);

    // Over the limit: refused before the body is read.
    const big = await fetch(`${server.base}/v1/documents`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain", "content-length": "100000001" },
      body: Buffer.alloc(10),
      duplex: "half",
    }).catch((e) => ({ status: 0, error: e }));
    assert.ok(big.status === 413 || big.status === 0, `status ${big.status}`);
  } finally {
    await server.stop();
  }
});
