// The fair-processing load, shared by tests/e2e/fair.test.mjs and
// `npm run bench:fair`: tenant A floods the service with jobs over one
// 1.8 MB text, then a new tenant B sends one extract of a one-line text
// and waits for it.

const WORDS = ["ledger", "harbour", "quarterly", "invoice", "meridian", "cobalt", "tariff", "lantern",
  "orchard", "syntax", "granite", "voyage", "pylon", "saffron", "delta", "kernel"];

/// About `bytes` of sentences, the same every time.
export function longText(bytes = 1_800_000) {
  const out = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const words = Array.from({ length: 12 }, (_, k) => WORDS[(i * 7 + k * 5 + (i >> 3)) % WORDS.length]);
    const sentence = `${words.join(" ")} number ${i}.${i % 9 === 8 ? "\n\n" : " "}`;
    out.push(sentence);
    size += sentence.length;
  }
  return out.join("");
}

async function call(server, key, method, route, body, headers = {}) {
  const r = await fetch(`${server.base}${route}`, { method, headers: { authorization: `Bearer ${key}`, ...headers }, body });
  return { status: r.status, json: await r.json().catch(() => null) };
}

const post = (server, key, route, body) =>
  call(server, key, "POST", route, JSON.stringify(body), { "content-type": "application/json" });

/// Tenant A (the dev tenant) sends `jobs` jobs from `clients` clients: the
/// accepted job ids and the time it took.
export async function flood(server, { jobs = 300, clients = 8 } = {}) {
  const started = Date.now();
  const doc = await call(server, server.adminKey, "POST", "/v1/documents", longText(), { "content-type": "text/plain" });
  if (doc.status !== 201) throw new Error(`upload: ${doc.status} ${JSON.stringify(doc.json)}`);
  const commands = [{ name: "keywords" }, { name: "summarize_extractive" }, { name: "chunk" }];
  const accepted = [];
  const client = async (c) => {
    for (let i = c; i < jobs; i += clients) {
      const r = await post(server, server.adminKey, "/v1/jobs", { document_id: doc.json.id, commands });
      if (r.status !== 202) throw new Error(`job ${i}: ${r.status} ${JSON.stringify(r.json)}`);
      accepted.push(r.json.id);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return { accepted, ms: Date.now() - started };
}

/// A new tenant's one-line extract: the job as it ended and the time from
/// sending it to seeing it end.
export async function oneLineJob(server, { timeoutMs = 300_000 } = {}) {
  const tenant = await post(server, server.operatorKey, "/v1/tenants", { name: `B ${Date.now()}` });
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.json)}`);
  const key = tenant.json.owner_key.secret;
  const doc = await call(server, key, "POST", "/v1/documents", "One line from another tenant.", { "content-type": "text/plain" });
  const started = Date.now();
  const created = await post(server, key, "/v1/jobs", { document_id: doc.json.id, commands: [{ name: "extract" }] });
  if (created.status !== 202) throw new Error(`job: ${created.status} ${JSON.stringify(created.json)}`);
  while (Date.now() - started < timeoutMs) {
    const job = await call(server, key, "GET", `/v1/jobs/${created.json.id}`);
    if (["succeeded", "failed", "cancelled"].includes(job.json?.status)) return { job: job.json, ms: Date.now() - started };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`B's job did not end within ${timeoutMs} ms`);
}
