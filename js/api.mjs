// The API worker's entry point: the Rust worker (build/api/index.js, made by
// worker-build), its Durable Objects, and the crons. Queue deliveries go to
// the jobs worker (js/jobs.mjs, wrangler.jobs.toml).
import Quire from "../build/api/index.js";
export { CircuitBreakerObject, IdempotencyObject, RateLimiterObject, TenantObject, UsageObject } from "../build/api/index.js";
import { WorkerEntrypoint } from "cloudflare:workers";

export default class extends WorkerEntrypoint {
  fetch(request) {
    return new Quire(this.ctx, this.env).fetch(request);
  }

  scheduled(controller) {
    return new Quire(this.ctx, this.env).scheduled(controller);
  }
}
