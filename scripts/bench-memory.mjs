// `npm run bench:memory`: how much workerd's resident memory grows while
// Quire handles hostile requests, beside a legitimate request of the same
// kind in the same run. Each case is sent alone against one `wrangler dev`;
// workerd's RSS (all its processes, from /proc) is sampled every 20 ms from
// just before the request until its answer, and the peak growth over the
// RSS just before is printed with the status. workerd keeps freed pages,
// so cases run from the smallest expected growth to the largest.
//
//   MEMORY_BODY_MB (400)  size of the streamed hostile bodies
import { onePage } from "../tests/e2e/pdfs.mjs";
import { startServer } from "./local-server.mjs";
import { workerdRss } from "./rss.mjs";

const BODY_MB = Number(process.env.MEMORY_BODY_MB ?? 400);

/** A stream of `mb` MiB of zeros, sent chunked (no Content-Length). */
function zeros(mb) {
  const chunk = new Uint8Array(64 * 1024);
  let left = (mb * 1024 * 1024) / chunk.length;
  return new ReadableStream({
    pull(controller) {
      if (left-- > 0) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

async function measure(server, name, send) {
  const before = workerdRss(server.pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, workerdRss(server.pid))), 20);
  const started = Date.now();
  let outcome;
  try {
    outcome = await send();
  } catch (e) {
    outcome = `error: ${e.cause?.code ?? e.message}`;
  }
  clearInterval(timer);
  peak = Math.max(peak, workerdRss(server.pid));
  const mb = (b) => (b / 1024 / 1024).toFixed(0);
  console.log(
    `${name.padEnd(58)} ${String(outcome).padEnd(26)} rss ${mb(before)} → peak ${mb(peak)} MB (+${mb(peak - before)}) in ${Date.now() - started} ms`,
  );
}

function post(server, route, body, headers = {}) {
  return fetch(`${server.base}${route}`, { method: "POST", body, duplex: "half", headers }).then(async (r) => {
    const text = await r.text();
    let code = "";
    try {
      code = JSON.parse(text).code ?? "";
    } catch {}
    return `${r.status} ${code}`.trim();
  });
}

/** Uploads a document, runs extract on it, answers the job's end state. */
async function extractJob(server, bytes, type) {
  const auth = { authorization: `Bearer ${server.adminKey}` };
  const doc = await fetch(`${server.base}/v1/documents`, { method: "POST", body: bytes, headers: { ...auth, "content-type": type } }).then((r) => r.json());
  const job = await fetch(`${server.base}/v1/jobs`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract" }] }),
  }).then((r) => r.json());
  for (;;) {
    const j = await fetch(`${server.base}/v1/jobs/${job.id}`, { headers: auth }).then((r) => r.json());
    if (["succeeded", "failed"].includes(j.status)) return `${j.status} ${j.error?.code ?? ""}`.trim();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One-page PDF whose content stream is `content`, Flate-packed. */
function pdfWithContent(content) {
  const font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  return onePage(`<< /Font << /F1 ${font} >> >>`, content);
}

const server = await startServer({ logName: "bench-memory", vars: { MAX_UPLOAD_BYTES: String(25 * 1024 * 1024) } });
try {
  console.log(`workerd idle: ${(workerdRss(server.pid) / 1024 / 1024).toFixed(0)} MB`);
  const key = { authorization: `Bearer ${server.adminKey}` };
  await measure(server, "baseline: POST /health, no body", () => post(server, "/health", undefined));
  await measure(server, `attack: POST /health, ${BODY_MB} MB chunked, no key`, () => post(server, "/health", zeros(BODY_MB)));
  await measure(server, `attack: POST /v1/documents, ${BODY_MB} MB chunked, no key`, () =>
    post(server, "/v1/documents", zeros(BODY_MB), { "content-type": "text/plain" }),
  );
  await measure(server, "baseline: POST /v1/documents, 2 MiB text, with key", () =>
    post(server, "/v1/documents", Buffer.alloc(2 * 1024 * 1024, 0x61), { ...key, "content-type": "text/plain" }),
  );
  await measure(server, `attack: POST /v1/documents, ${BODY_MB} MB chunked, with key`, () =>
    post(server, "/v1/documents", zeros(BODY_MB), { ...key, "content-type": "text/plain" }),
  );
  const text = "Budgets hold. ".repeat(1000);
  await measure(server, "baseline: extract job, PDF with a 14 KB content stream", () =>
    extractJob(server, pdfWithContent(Buffer.from(`BT /F1 12 Tf 72 700 Td (${text}) Tj ET`)), "application/pdf"),
  );
  await measure(server, "attack: extract job, PDF whose content inflates to 1 GiB", () =>
    extractJob(server, pdfWithContent(Buffer.alloc(1024 * 1024 * 1024, 0x20)), "application/pdf"),
  );
} finally {
  await server.stop();
}
