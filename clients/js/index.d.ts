// Types for @quire/client (index.mjs). The shapes of requests and answers
// are generated from docs/openapi.json (schema.d.ts).
import type { Command, Document, ExtractResult, Job, Problem } from "./schema";
export type * from "./schema";

export declare const ROUTES: Array<[string, string]>;
export declare const SINGLE_UPLOAD_MAX: number;
/** The fresher of two `Quire-Bookmark` values, place by place (one D1 bookmark per database, comma-separated). */
export declare function newestBookmark(kept: string | null, seen: string): string;

export declare class QuireError extends Error {
  status: number;
  code: string;
  problem: Problem;
  requestId: string | null;
  retryAfter: number | null;
}

export declare class JobFailed extends QuireError {
  job: Job;
}

export type Progress = (done: number, total: number) => void;
export type Bytes = Uint8Array | ArrayBuffer | Blob;

export declare class Quire {
  constructor(options: { baseUrl: string; apiKey: string; retries?: number; fetch?: typeof fetch });
  /** The newest `Quire-Bookmark` seen; sent with every request (read-after-write across read replicas). */
  bookmark: string | null;
  request(method: string, path: string, options?: { query?: Record<string, unknown>; json?: unknown; body?: BodyInit; headers?: Record<string, string> }): Promise<Response>;
  upload(data: Bytes, options?: { filename?: string; mediaType?: string; resumable?: boolean; onProgress?: Progress }): Promise<Document>;
  createJob(documentId: string, commands: Command[], options?: { webhookUrl?: string }): Promise<Job>;
  job(id: string): Promise<Job>;
  jobs(options?: { status?: "queued" | "running" | "succeeded" | "failed" | "cancelled"; documentId?: string; limit?: number; cursor?: string }): Promise<{ data: Job[]; next_cursor: string | null }>;
  events(id: string): AsyncGenerator<{ event: string; data: unknown }>;
  wait(id: string, options?: { onProgress?: Progress; timeoutSeconds?: number }): Promise<Job>;
  result(id: string, command?: string): Promise<any>;
  cancel(id: string): Promise<Job>;
  extract(data: Bytes, options?: { filename?: string; mediaType?: string; onProgress?: Progress; pages?: string; languages?: string[] }): Promise<ExtractResult>;
  document(id: string): Promise<Document>;
  deleteDocument(id: string): Promise<null>;
  createKey(name: string, options?: { role?: string; scopes?: string[]; [key: string]: unknown }): Promise<Record<string, any> & { id: string; secret: string }>;
  keys(): Promise<Array<Record<string, any>>>;
  revokeKey(id: string): Promise<null>;
  usage(period?: string): Promise<Record<string, any>>;
}

export declare function verifyWebhook(
  secret: string,
  headers: Headers | Record<string, string>,
  body: string | Uint8Array,
  options?: { toleranceSeconds?: number; now?: number },
): Promise<unknown>;
