// Compiled (not run) by `npm test`: the client's declarations, and the
// types generated from docs/openapi.json, hold together as a caller uses
// them. A type that drifted from what the client returns fails here.
import { Quire, QuireError } from "../index";
import type { Document, Element, ExtractResult, Job, Problem, Command } from "../index";

export async function use(q: Quire): Promise<string> {
  const d: Document = await q.upload(new Uint8Array([1]), { filename: "a.txt" });
  const commands: Command[] = [{ name: "extract", options: { pages: "1-2" } }, { name: "stats" }];
  const j: Job = await q.createJob(d.id, commands);
  const done: Job = await q.wait(j.id);
  const r: ExtractResult = await q.extract(new Uint8Array([1]));
  const els: Element[] = r.elements ?? [];
  const tables = els.filter((e) => e.type === "table").map((e) => e.rows ?? []);
  try {
    await q.job("job_missing");
  } catch (e) {
    if (e instanceof QuireError) {
      const p: Problem = e.problem;
      return p.code;
    }
  }
  return `${done.status} ${done.progress} ${tables.length} ${d.size_bytes}`;
}
