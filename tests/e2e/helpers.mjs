// Shared helpers for end-to-end tests: a tiny client for the running worker.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { localSql } from "../../scripts/local-sql.mjs";

export const BASE = process.env.QUIRE_URL;
export const ADMIN_KEY = process.env.QUIRE_ADMIN_KEY;
export const CORPUS = process.env.QUIRE_CORPUS;
export const UPLOAD_LIMIT = Number(process.env.QUIRE_UPLOAD_LIMIT);

if (!BASE || !ADMIN_KEY) throw new Error("run through tests/e2e/run.mjs (npm test)");

export function corpus(name) {
  return readFileSync(path.join(CORPUS, name));
}

/**
 * fetch, sending a GET or HEAD once more when it failed below HTTP (no
 * response at all): a keep-alive socket the local server had closed while
 * the test sat idle (undici keeps idle sockets longer than the server
 * does; a test waiting seconds on `wrangler d1 execute` can pick a dead
 * one). The cause is printed, so a real outage is still seen. Never for
 * other methods: they are not idempotent.
 */
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (!(e instanceof TypeError) || !["GET", "HEAD"].includes(init.method)) throw e;
    console.error(`# ${init.method} ${url}: ${e.message} (${e.cause?.code ?? e.cause?.message ?? "no cause"}), sent again`);
    await new Promise((r) => setTimeout(r, 200));
    return fetch(url, init);
  }
}

/** Calls the API; `key: null` sends no Authorization header. */
export async function api(method, route, { key = ADMIN_KEY, headers = {}, body } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let resp = await send(`${BASE}${route}`, { method, headers: h, body });
  let text = await resp.text();
  // `wrangler dev`'s own answer (not Quire's: no problem document) when
  // its runtime connection broke under the request, which it retries only
  // for GET and HEAD. Said on stderr, and the request sent once more.
  const replayable = body === undefined || typeof body === "string" || body instanceof Uint8Array;
  if (resp.status === 503 && text.includes("Your worker restarted mid-request") && replayable) {
    console.error(`# ${method} ${route}: the dev server's runtime restarted mid-request; sent again`);
    resp = await send(`${BASE}${route}`, { method, headers: h, body });
    text = await resp.text();
  }
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: resp.status, headers: resp.headers, text, json };
}

export function assertProblem(resp, status, code) {
  assert.equal(resp.status, status, resp.text);
  assert.equal(resp.headers.get("content-type"), "application/problem+json");
  assert.equal(resp.json.code, code);
  assert.equal(resp.json.status, status);
  assert.match(resp.json.request_id, /^req_/);
  assert.equal(resp.headers.get("x-request-id"), resp.json.request_id);
}

export async function upload(name, contentType, bytes = corpus(name)) {
  const resp = await api("POST", "/v1/documents", {
    headers: { "content-type": contentType, "x-filename": name.split("/").pop() },
    body: bytes,
  });
  assert.equal(resp.status, 201, resp.text);
  return resp.json;
}

export async function createJob(documentId, key = ADMIN_KEY) {
  const resp = await api("POST", "/v1/jobs", {
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ document_id: documentId, commands: [{ name: "extract" }] }),
  });
  assert.equal(resp.status, 202, resp.text);
  return resp.json;
}

/** Polls a job until `done(job)` holds (default: a terminal state). */
export async function waitForJob(id, done = (j) => ["succeeded", "failed"].includes(j.status), timeoutMs = 30_000, key = ADMIN_KEY) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const resp = await api("GET", `/v1/jobs/${id}`, { key });
    assert.equal(resp.status, 200, resp.text);
    if (done(resp.json)) return resp.json;
    if (Date.now() > deadline) assert.fail(`job ${id} stuck: ${resp.text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Uploads a corpus file, runs `extract`, and returns [job, result]. */
export async function extractCorpus(name, contentType) {
  const doc = await upload(name, contentType);
  const job = await createJob(doc.id);
  const finished = await waitForJob(job.id);
  if (finished.status !== "succeeded") return [finished, null];
  const result = await api("GET", `/v1/jobs/${job.id}/result`);
  assert.equal(result.status, 200, result.text);
  return [finished, result.json];
}

/**
 * The binding calls a request made, from a log: those in its request line
 * (`calls`) and those logged on their own (after the line, failed or slow).
 */
/**
 * The JSON lines of a `wrangler dev` log. With two workers in one session
 * wrangler prefixes each worker's lines with its name in brackets
 * (`[quire-jobs] {...}`); a line is read with or without that prefix.
 */
export function jsonLines(logText) {
  const out = [];
  for (const line of logText.split("\n")) {
    const json = line.replace(/^\[[^\]\s]*\] /, "");
    if (!json.startsWith("{")) continue;
    try {
      out.push(JSON.parse(json));
    } catch {
      // a line that only starts like JSON
    }
  }
  return out;
}

export function callsIn(logText, requestId) {
  const calls = [];
  for (const line of logText.split("\n")) {
    if (!line.includes(requestId) || !line.includes("{")) continue;
    let v;
    try {
      v = JSON.parse(line.slice(line.indexOf("{")));
    } catch {
      continue;
    }
    if (v.msg === "call") calls.push(v);
    else if (v.msg === "request" && v.request_id === requestId && Array.isArray(v.calls)) calls.push(...v.calls);
  }
  return calls;
}

export { localSql };

/** The local databases' bindings: the directory (also shard 0), then the shards (DB_2 is the EU one). */
export const SHARD_DBS = ["DB", "DB_1", "DB_2"];

/** The binding of the database holding a tenant's rows (its directory row says). */
export function tenantDb(tenantId, { persist = process.env.QUIRE_PERSIST_DIR } = {}) {
  const [row] = localSql(`SELECT shard FROM tenants WHERE id = '${tenantId.replace(/[^A-Za-z0-9_]/g, "")}'`, { persist });
  if (!row) throw new Error(`no tenant ${tenantId} in the directory`);
  return SHARD_DBS[row.shard];
}
