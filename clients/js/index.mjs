// Quire's client for Node (18+), browsers and other Workers: ESM, nothing
// but the platform's fetch, crypto.randomUUID and crypto.subtle.
//
//   import { Quire } from "@quire/client";
//   const q = new Quire({ baseUrl, apiKey });
//   const result = await q.extract(bytes, { filename: "report.pdf" });
//
// Every POST carries an Idempotency-Key, the same on each retry; requests
// are retried on network errors, 429, 502, 503 and 504, honouring
// Retry-After. Refusals throw QuireError with the server's problem document.

/** The routes this client calls (tests hold them to docs/openapi.json). */
export const ROUTES = [
  ["POST", "/v1/documents"],
  ["GET", "/v1/documents/{id}"],
  ["DELETE", "/v1/documents/{id}"],
  ["POST", "/v1/uploads"],
  ["GET", "/v1/uploads/{id}"],
  ["PUT", "/v1/uploads/{id}/parts/{n}"],
  ["POST", "/v1/uploads/{id}/complete"],
  ["POST", "/v1/jobs"],
  ["GET", "/v1/jobs"],
  ["GET", "/v1/jobs/{id}"],
  ["GET", "/v1/jobs/{id}/events"],
  ["GET", "/v1/jobs/{id}/result"],
  ["POST", "/v1/jobs/{id}/cancel"],
  ["GET", "/v1/keys"],
  ["POST", "/v1/keys"],
  ["DELETE", "/v1/keys/{id}"],
  ["GET", "/v1/usage"],
];

const RETRY = new Set([429, 502, 503, 504]);
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
/** Bodies over this go in resumable parts through /v1/uploads. */
export const SINGLE_UPLOAD_MAX = 64 * 1024 * 1024;

/** A refusal: `status`, `code`, `problem` (RFC 9457), `retryAfter` (s). */
/**
 * The fresher of two `Quire-Bookmark` values, place by place: the header
 * holds one D1 bookmark per database (comma-separated), and responses to
 * concurrent calls may each be newer in a different place.
 */
export function newestBookmark(kept, seen) {
  const a = (kept ?? "").split(","), b = seen.split(",");
  const places = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => {
    const x = a[i] ?? "", y = b[i] ?? "";
    return x > y ? x : y;
  });
  return places.join(",").replace(/,+$/, "");
}

export class QuireError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(`${status} ${problem.code ?? "error"}: ${problem.detail ?? problem.title ?? ""}`);
    this.name = "QuireError";
    this.status = status;
    this.problem = problem;
    this.code = problem.code ?? `http_${status}`;
    this.requestId = problem.request_id ?? null;
    this.retryAfter = retryAfter;
  }
}

/** A job that ended failed or cancelled; `job` is the job. */
export class JobFailed extends QuireError {
  constructor(job) {
    super(0, { code: job.error?.code ?? job.status, detail: job.error?.message ?? "" });
    this.name = "JobFailed";
    this.job = job;
  }
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

export class Quire {
  /** @param {{baseUrl: string, apiKey: string, retries?: number, fetch?: typeof fetch}} options */
  constructor({ baseUrl, apiKey, retries = 4, fetch: f = globalThis.fetch }) {
    if (!apiKey) throw new TypeError("Quire needs an apiKey");
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.apiKey = apiKey;
    this.retries = retries;
    this.fetch = f;
    /** The newest D1 bookmark seen, sent back so reads see this client's writes even when a read replica serves them. */
    this.bookmark = null;
  }

  /** One call, retried; the Response (ok or allowed), else QuireError. */
  async request(method, path, { query, json, body, headers = {} } = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v != null) url.searchParams.set(k, String(v));
    const h = { authorization: `Bearer ${this.apiKey}`, ...headers };
    if (method === "POST" && !h["idempotency-key"]) h["idempotency-key"] = crypto.randomUUID();
    if (this.bookmark) h["quire-bookmark"] = this.bookmark;
    if (json !== undefined) {
      h["content-type"] = "application/json";
      body = JSON.stringify(json);
    }
    for (let attempt = 0; ; attempt++) {
      let resp;
      try {
        resp = await this.fetch(url, { method, headers: h, body });
      } catch (e) {
        if (attempt >= this.retries) throw e;
        await sleep(Math.min(0.5 * 2 ** attempt, 8));
        continue;
      }
      const seen = resp.headers.get("quire-bookmark");
      if (seen) this.bookmark = newestBookmark(this.bookmark, seen);
      if (RETRY.has(resp.status) && attempt < this.retries) {
        const hint = Number(resp.headers.get("retry-after"));
        await resp.body?.cancel();
        await sleep(Number.isFinite(hint) && hint >= 0 ? Math.min(hint, 60) : Math.min(0.5 * 2 ** attempt, 8));
        continue;
      }
      if (resp.ok) return resp;
      let problem = {};
      try {
        problem = await resp.json();
      } catch {
        // not JSON
      }
      const hint = resp.headers.get("retry-after");
      throw new QuireError(resp.status, problem, hint ? Number(hint) : null);
    }
  }

  async json(method, path, options) {
    const resp = await this.request(method, path, options);
    return resp.status === 204 ? null : resp.json();
  }

  /**
   * Uploads bytes (Uint8Array, ArrayBuffer or Blob): one request, or
   * resumable parts over SINGLE_UPLOAD_MAX (or with `resumable: true`).
   */
  async upload(data, { filename = "document", mediaType = "application/octet-stream", resumable, onProgress } = {}) {
    const blob = data instanceof Blob ? data : new Blob([data]);
    if (resumable || (resumable === undefined && blob.size > SINGLE_UPLOAD_MAX)) {
      return this.#uploadParts(blob, filename, mediaType, onProgress);
    }
    const doc = await this.json("POST", "/v1/documents", {
      body: blob,
      headers: { "content-type": mediaType, "x-filename": filename },
    });
    onProgress?.(blob.size, blob.size);
    return doc;
  }

  async #uploadParts(blob, filename, mediaType, onProgress) {
    const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const up = await this.json("POST", "/v1/uploads", { json: { filename, media_type: mediaType, size: blob.size, sha256 } });
    const status = await this.json("GET", `/v1/uploads/${up.id}`);
    const missing = new Set(status.parts_missing ?? []);
    for (let n = 1; n <= up.parts; n++) {
      if (missing.has(n)) {
        const part = blob.slice((n - 1) * up.part_size, n * up.part_size);
        await this.request("PUT", `/v1/uploads/${up.id}/parts/${n}`, { body: part });
      }
      onProgress?.(Math.min(n * up.part_size, blob.size), blob.size);
    }
    return this.json("POST", `/v1/uploads/${up.id}/complete`);
  }

  createJob(documentId, commands, { webhookUrl } = {}) {
    return this.json("POST", "/v1/jobs", { json: { document_id: documentId, commands, ...(webhookUrl ? { webhook_url: webhookUrl } : {}) } });
  }

  job(id) {
    return this.json("GET", `/v1/jobs/${id}`);
  }

  /** A page of jobs, newest first: {data, next_cursor}. */
  jobs({ status, documentId, limit, cursor } = {}) {
    return this.json("GET", "/v1/jobs", { query: { status, document_id: documentId, limit, cursor } });
  }

  /** The job's Server-Sent Events, as {event, data} objects. */
  async *events(id) {
    const resp = await this.request("GET", `/v1/jobs/${id}/events`, { headers: { accept: "text/event-stream" } });
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data = [];
    for await (const chunk of resp.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line === "") {
          if (data.length) {
            const text = data.join("\n");
            let value = text;
            try {
              value = JSON.parse(text);
            } catch {
              // plain text data
            }
            yield { event, data: value };
          }
          event = "message";
          data = [];
        } else if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
    }
  }

  /** Waits for the job to end (its event stream, else polling); throws JobFailed unless it succeeded. */
  async wait(id, { onProgress, timeoutSeconds = 600 } = {}) {
    try {
      for await (const e of this.events(id)) {
        if (typeof e.data?.progress === "number") onProgress?.(e.data.progress, 100);
        if (e.event === "done") break;
      }
    } catch (e) {
      if (e instanceof QuireError && e.status === 404) throw e;
      // no stream (a proxy, a limit): polling says the same
    }
    for (let waited = 0; ; ) {
      const resp = await this.request("GET", `/v1/jobs/${id}`);
      const job = await resp.json();
      onProgress?.(job.progress ?? 0, 100);
      if (TERMINAL.has(job.status)) {
        if (job.status !== "succeeded") throw new JobFailed(job);
        return job;
      }
      if (waited > timeoutSeconds) throw new Error(`job ${id} still ${job.status} after ${waited} s`);
      const pause = Number(resp.headers.get("retry-after")) || 1;
      waited += pause;
      await sleep(pause);
    }
  }

  result(id, command) {
    return this.json("GET", `/v1/jobs/${id}/result`, { query: { command } });
  }

  cancel(id) {
    return this.json("POST", `/v1/jobs/${id}/cancel`);
  }

  /** Uploads, extracts and returns {text, markdown, elements, pages, warnings}. */
  async extract(data, { filename, mediaType, onProgress, ...options } = {}) {
    const doc = await this.upload(data, { filename, mediaType, onProgress });
    const command = { name: "extract", ...(Object.keys(options).length ? { options } : {}) };
    const job = await this.createJob(doc.id, [command]);
    await this.wait(job.id);
    return this.result(job.id, "extract");
  }

  document(id) {
    return this.json("GET", `/v1/documents/${id}`);
  }

  deleteDocument(id) {
    return this.json("DELETE", `/v1/documents/${id}`);
  }

  createKey(name, { role, scopes, ...more } = {}) {
    return this.json("POST", "/v1/keys", { json: { name, ...(role ? { role } : {}), ...(scopes ? { scopes } : {}), ...more } });
  }

  async keys() {
    return (await this.json("GET", "/v1/keys")).data;
  }

  revokeKey(id) {
    return this.json("DELETE", `/v1/keys/${id}`);
  }

  /** A month's usage (`period` such as "2026-12"; default this month). */
  usage(period) {
    return this.json("GET", "/v1/usage", { query: { period } });
  }
}

/**
 * Verifies a webhook (Standard Webhooks: HMAC-SHA256 of
 * "{id}.{timestamp}.{body}" under the whsec_ secret); the event, parsed,
 * or a thrown Error.
 */
export async function verifyWebhook(secret, headers, body, { toleranceSeconds = 300, now = Date.now() / 1000 } = {}) {
  const get = (k) => (headers instanceof Headers ? headers.get(k) : headers[k] ?? headers[k.toLowerCase()]);
  const id = get("webhook-id");
  const stamp = get("webhook-timestamp");
  const signatures = get("webhook-signature");
  if (!id || !stamp || !signatures) throw new Error("missing webhook headers");
  if (Math.abs(now - Number(stamp)) > toleranceSeconds) throw new Error("webhook timestamp outside the tolerance");
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${stamp}.${text}`)));
  const expected = btoa(String.fromCharCode(...mac));
  for (const candidate of signatures.split(" ")) {
    const [version, value] = candidate.split(",");
    if (version === "v1" && value === expected) return JSON.parse(text);
  }
  throw new Error("no matching webhook signature");
}
