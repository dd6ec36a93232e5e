// A small OpenAI-compatible chat-completions server for tests and the LLM
// benchmark. It answers deterministically from the prompt (it reads the
// task Quire asks for and answers in its JSON shape), counts tokens (four
// characters per token, like Quire's own estimate) and calls per model,
// adds a configurable latency, and injects faults on demand:
//
//   POST /control {"model": "large", "faults": ["429", "500", "timeout",
//                  "truncated", "invalid_json", "no_usage"]}  queue faults
//   POST /control {"reset": true}                               clear all
//   POST /control {"latency_ms": 50, "ms_per_token": 0.05}     pacing
//   GET  /stats                                                 counters
//
// Usage: import { startFakeLlm } from "./fake-llm.mjs", or
// `node scripts/fake-llm.mjs [port]` to run it alone.
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const tokens = (s) => Math.max(Math.ceil([...s].length / 4), s.split(/\s+/).filter(Boolean).length);

function valueFor(schema, text) {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (schema.enum) return schema.enum[0];
  switch (t) {
    case "string": return text.split(/\s+/).find((w) => w.length > 3) ?? "unknown";
    case "number": return 42.5;
    case "integer": return 42;
    case "boolean": return true;
    case "array": return schema.items ? [valueFor(schema.items, text)] : [];
    case "object": {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = valueFor(v, text);
      return out;
    }
    default: return null;
  }
}

/** The answer to one task, from its instruction line and the document. */
function answerTask(instruction, doc) {
  const plain = doc.replace(/\[\d+\] /g, "");
  const firstSentence = (plain.match(/[^.!?]+[.!?]/) ?? [plain.slice(0, 200)])[0].trim();
  if (/Summarise/.test(instruction)) return { summary: `Summary: ${firstSentence}` };
  if (/Translate the document into ([^,]+)/.test(instruction)) {
    const lang = instruction.match(/Translate the document into ([^,]+)/)[1];
    return { translation: `[${lang}] ${plain.slice(0, 400)}` };
  }
  if (/Classify/.test(instruction)) {
    const labels = JSON.parse(instruction.match(/labels: (\[.*?\])\./)[1]);
    const lower = plain.toLowerCase();
    const scored = labels.map((l) => [l, lower.split(l.toLowerCase()).length - 1]);
    scored.sort((a, b) => b[1] - a[1]);
    return { label: scored[0][0], confidence: 0.9 };
  }
  if (/Extract fields/.test(instruction)) {
    const schema = JSON.parse(instruction.match(/JSON Schema: (\{.*\})\. Use null/)[1]);
    return { fields: valueFor(schema, plain) };
  }
  if (/Answer the question/.test(instruction)) {
    return { answer: `Per passage 1: ${firstSentence}`, citations: [1] };
  }
  return { error: "unknown task" };
}

function answer(system, user) {
  if (/Do each task below/.test(system)) {
    const out = {};
    for (const line of system.split("\n")) {
      const m = line.match(/^- "([a-z_]+)": (.*)$/);
      if (m) out[m[1]] = answerTask(m[2], user);
    }
    return out;
  }
  // A repair prompt repeats the document first; answer the task again.
  return answerTask(system, user.split("\n\nYour previous answer was:")[0]);
}

export async function startFakeLlm(port = 0) {
  const faults = new Map(); // model -> queue of fault names
  const stats = { calls: 0, input_tokens: 0, output_tokens: 0, by_model: {}, faults_served: 0, traceparents: [] };
  let pacing = { latency_ms: 0, ms_per_token: 0 };

  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const send = (status, obj) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof obj === "string" ? obj : JSON.stringify(obj));
    };
    if (req.method === "GET" && req.url === "/stats") return send(200, stats);
    if (req.method === "POST" && req.url === "/control") {
      const c = JSON.parse(body || "{}");
      if (c.reset) {
        faults.clear();
        for (const k of Object.keys(stats.by_model)) delete stats.by_model[k];
        Object.assign(stats, { calls: 0, input_tokens: 0, output_tokens: 0, faults_served: 0, traceparents: [] });
        pacing = { latency_ms: 0, ms_per_token: 0 };
      }
      if (c.model && c.faults) faults.set(c.model, [...(faults.get(c.model) ?? []), ...c.faults]);
      if (c.latency_ms !== undefined || c.ms_per_token !== undefined) pacing = { ...pacing, ...c };
      return send(200, { ok: true });
    }
    if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) return send(404, { error: "not found" });
    const r = JSON.parse(body);
    const system = r.messages.find((m) => m.role === "system")?.content ?? "";
    const user = r.messages.find((m) => m.role === "user")?.content ?? "";
    const model = r.model;
    const m = (stats.by_model[model] ??= { calls: 0, input_tokens: 0, output_tokens: 0 });
    stats.calls += 1;
    m.calls += 1;
    if (req.headers.traceparent) stats.traceparents.push(req.headers.traceparent);
    const fault = faults.get(model)?.shift();
    if (fault) stats.faults_served += 1;
    if (fault === "429") return send(429, { error: { message: "rate limited" } });
    if (fault === "500") return send(500, { error: { message: "server error" } });
    if (fault === "timeout") return; // never answers; the caller times out
    const input = tokens(system) + tokens(user);
    let content = JSON.stringify(answer(system, user));
    let finish = "stop";
    if (fault === "invalid_json") content = content.slice(0, Math.floor(content.length / 2));
    if (fault === "truncated") {
      content = content.slice(0, 20);
      finish = "length";
    }
    const output = tokens(content);
    stats.input_tokens += input;
    stats.output_tokens += output;
    m.input_tokens += input;
    m.output_tokens += output;
    const wait = pacing.latency_ms + pacing.ms_per_token * (input + output);
    if (wait > 0) await new Promise((r2) => setTimeout(r2, wait));
    const reply = {
      id: `chatcmpl-${stats.calls}`,
      object: "chat.completion",
      model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finish }],
    };
    if (fault !== "no_usage") reply.usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
    send(200, reply);
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const control = async (c) =>
    (await fetch(`${base}/control`, { method: "POST", body: JSON.stringify(c) })).json();
  return {
    base,
    control,
    stats: async () => (await fetch(`${base}/stats`)).json(),
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const llm = await startFakeLlm(Number(process.argv[2] ?? 8790));
  console.error(`fake LLM listening on ${llm.base}/v1`);
}
