// The jobs worker's entry point: the Rust worker (build/jobs/index.js, made
// by worker-build) behind a thin wrapper for queue deliveries.
//
// Why the wrapper: a queue batch must never hold its consumer forever. The
// local queue (Miniflare's broker) sends the next batch only after the last
// invocation ends, so one invocation that never ends stops every job. The
// batch handed to Rust is a view that records which messages Rust settles
// (ack or retry); this function, running in the batch's own event, ends the
// event as soon as every message is settled or the Rust promise ends,
// whichever comes first, and past BATCH_DEADLINE_MS retries what is still
// unsettled. Every await inside the batch is thereby bounded, whatever it
// waits on; a retried job resumes exactly once (its claim is atomic).
import Quire from "../build/jobs/index.js";
import { WorkerEntrypoint } from "cloudflare:workers";
import { ocr } from "./ocr.mjs";

// The OCR engine, for the Rust side (src/edge/ocr.rs).
globalThis.QUIRE_OCR = ocr;

/** The longest a batch may take before its unsettled messages are retried. */
const BATCH_DEADLINE_MS = 14 * 60 * 1000;
const POLL_MS = 20;

function settlingView(batch, settled) {
  const messages = batch.messages.map((m) => ({
    get id() { return m.id; },
    get timestamp() { return m.timestamp; },
    get body() { return m.body; },
    get attempts() { return m.attempts; },
    ack() { settled.add(m.id); m.ack(); },
    retry(options) { settled.add(m.id); m.retry(options); },
  }));
  return {
    get queue() { return batch.queue; },
    get messages() { return messages; },
    ackAll() { for (const m of batch.messages) settled.add(m.id); batch.ackAll(); },
    retryAll(options) { for (const m of batch.messages) settled.add(m.id); batch.retryAll(options); },
  };
}

export default class extends WorkerEntrypoint {
  // Reached only through the API worker's JOBS_WORKER service binding.
  fetch(request) {
    return new Quire(this.ctx, this.env).fetch(request);
  }

  async queue(batch) {
    const settled = new Set();
    const total = batch.messages.length;
    const started = Date.now();
    let timer;
    const allSettled = new Promise((resolve) => {
      timer = setInterval(() => {
        if (settled.size >= total) resolve("settled");
        else if (Date.now() - started > BATCH_DEADLINE_MS) resolve("deadline");
      }, POLL_MS);
    });
    const inner = new Quire(this.ctx, this.env)
      .queue(settlingView(batch, settled))
      .then(() => "returned", (e) => { console.error(JSON.stringify({ level: "error", msg: "queue handler threw", error: String(e) })); return "threw"; });
    const how = await Promise.race([inner, allSettled]);
    clearInterval(timer);
    if (how !== "settled" && how !== "returned") {
      for (const m of batch.messages) if (!settled.has(m.id)) m.retry({ delaySeconds: 30 });
      console.error(JSON.stringify({ level: "warn", msg: "queue batch ended unsettled", how, unsettled: total - settled.size }));
    }
  }
}
