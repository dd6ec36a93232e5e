// The Python client library and CLI (clients/python) against the running
// service: its own pytest suite, in a virtual environment under .tmp/
// made (and refreshed when clients/python/pyproject.toml changes) with
// pip from PyPI, with the langchain extra so the loader is tested too.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const client = path.join(root, "clients", "python");

function python() {
  const venv = path.join(root, ".tmp", "pyclient");
  const py = path.join(venv, "bin", "python");
  const stamp = path.join(venv, ".installed");
  const want = createHash("sha256").update(readFileSync(path.join(client, "pyproject.toml"))).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return py;
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: "inherit" });
    assert.equal(r.status, 0, `${cmd} ${args.join(" ")}`);
  };
  if (!existsSync(py)) run("python3", ["-m", "venv", venv]);
  run(py, ["-m", "pip", "install", "-q", "-e", `${client}[test,langchain]`]);
  writeFileSync(stamp, want);
  return py;
}

test("the Python client and its CLI: extract, events, resumable upload, typed errors, keys, async, LangChain", { timeout: 600_000 }, () => {
  const r = spawnSync(python(), ["-m", "pytest", path.join(client, "tests"), "-q", "-rs"], {
    env: { ...process.env, QUIRE_URL: process.env.QUIRE_URL, QUIRE_API_KEY: process.env.QUIRE_ADMIN_KEY },
    encoding: "utf8",
  });
  console.log(r.stdout.split("\n").slice(-15).join("\n"));
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /skipped/, "every test ran against the service");
});

// The TypeScript/ESM client (clients/js), in this process: fetch only.
const { Quire, QuireError, JobFailed, ROUTES, newestBookmark, verifyWebhook } = await import("../../clients/js/index.mjs");
const js = () => new Quire({ baseUrl: process.env.QUIRE_URL, apiKey: process.env.QUIRE_ADMIN_KEY });
const REPORT = "# Quarterly report\n\nRevenue grew in every region.\n\n| Region | Revenue |\n|---|---|\n| North | 10 |\n| South | 12 |\n";

test("the JS client calls only documented routes", () => {
  const spec = JSON.parse(readFileSync(path.join(root, "docs", "openapi.json"), "utf8"));
  const shape = (p) => p.replace(/\{[^}]+\}/g, "{}");
  const documented = new Set(Object.entries(spec.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${shape(p)}`)));
  assert.deepEqual(ROUTES.filter(([m, p]) => !documented.has(`${m} ${shape(p)}`)), []);
});

test("the JS client keeps the newest bookmark of every database place", () => {
  const [old, fresh] = ["0000000a-00000001", "0000000b-00000001"];
  assert.equal(newestBookmark(null, old), old);
  assert.equal(newestBookmark(fresh, old), fresh, "an older reply does not roll it back");
  // Replies to concurrent calls may each be newer in another database.
  assert.equal(newestBookmark(`${fresh},${old}`, `${old},${fresh}`), `${fresh},${fresh}`);
  assert.equal(newestBookmark(`${old},${fresh}`, fresh), `${fresh},${fresh}`, "an untouched place keeps what it had");
});

test("the JS client extracts, waits on events, and keeps a table's header in every chunk", async () => {
  const q = js();
  const seen = [];
  const result = await q.extract(new TextEncoder().encode(REPORT), { filename: "report.md", mediaType: "text/markdown", onProgress: (d, t) => seen.push([d, t]) });
  assert.ok(result.markdown.startsWith("# Quarterly report"), result.markdown);
  assert.ok(result.elements.some((e) => e.type === "table"));
  const doc = await q.upload(new TextEncoder().encode(REPORT), { filename: "r.md", mediaType: "text/markdown" });
  const job = await q.createJob(doc.id, [{ name: "extract" }, { name: "chunk", options: { max_size: 60, overlap: 0 } }]);
  const progress = [];
  const done = await q.wait(job.id, { onProgress: (p) => progress.push(p) });
  assert.equal(done.status, "succeeded");
  assert.equal(progress.at(-1), 100);
  const listed = await q.jobs({ documentId: doc.id });
  assert.deepEqual(listed.data.map((j) => j.id), [job.id]);
  const { chunks } = await q.result(job.id, "chunk");
  const table = chunks.filter((c) => /North|South/.test(c.text));
  assert.ok(table.length && table.every((c) => c.text.startsWith("Region\tRevenue")), JSON.stringify(chunks));
  // It keeps the newest D1 bookmark and sends it back (read-after-write).
  assert.match(q.bookmark ?? "", /^[0-9a-f]+(-[0-9a-f]+)+$/);
  const sent = [];
  const spy = new Quire({ baseUrl: process.env.QUIRE_URL, apiKey: process.env.QUIRE_ADMIN_KEY,
    fetch: (url, init) => { sent.push(init.headers["quire-bookmark"] ?? null); return fetch(url, init); } });
  await spy.document(doc.id);
  await spy.document(doc.id);
  assert.equal(sent[0], null, "nothing to send before a response");
  assert.match(sent[1], /^[0-9a-f]+(-[0-9a-f]+)+$/, "the first response's bookmark goes back");
});

test("the JS client uploads in resumable parts with progress", async () => {
  const line = "All work and no play makes a long text file.\n";
  const big = new TextEncoder().encode(line.repeat(Math.floor((9 * 1024 * 1024) / line.length)));
  const sent = [];
  const doc = await js().upload(big, { filename: "big.txt", mediaType: "text/plain", resumable: true, onProgress: (d) => sent.push(d) });
  assert.equal(doc.size_bytes, big.length);
  assert.equal(sent.at(-1), big.length);
});

test("the JS client throws typed errors; keys made with scope lists work, then not once revoked", async () => {
  const q = js();
  await assert.rejects(q.job("job_does_not_exist"), (e) => e instanceof QuireError && e.status === 404 && e.code === "not_found" && Boolean(e.requestId));
  await assert.rejects(q.createJob("doc_x", [{ name: "teleport" }]), (e) => e.status === 422);
  const made = await q.createKey("js client test", { role: "member", scopes: ["documents:read", "jobs:read"] });
  const limited = new Quire({ baseUrl: process.env.QUIRE_URL, apiKey: made.secret, retries: 0 });
  await assert.rejects(limited.createKey("nope"), (e) => e.status === 403);
  assert.ok((await q.keys()).some((k) => k.id === made.id));
  await q.revokeKey(made.id);
  await assert.rejects(limited.keys(), (e) => e.status === 401);
  assert.ok("period" in (await q.usage()));
  assert.ok(JobFailed.prototype instanceof QuireError);
});

test("the JS client verifies webhook signatures (Standard Webhooks vector)", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const headers = { "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" };
  assert.deepEqual(await verifyWebhook(secret, headers, '{"test": 2432232314}', { now: 1614265330 }), { test: 2432232314 });
  await assert.rejects(verifyWebhook(secret, headers, '{"test": 9432232314}', { now: 1614265330 }));
  await assert.rejects(verifyWebhook(secret, headers, '{"test": 2432232314}', { now: 1614265330 + 3600 }));
});
