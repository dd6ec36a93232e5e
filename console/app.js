// The console's script (served at /console/app.js; the page's CSP allows
// only scripts from this origin). Nothing but the platform: fetch, streams.
"use strict";
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem("quire-key") || "";
$("key").value = key;

async function api(method, path, { body, headers = {} } = {}) {
  const h = { authorization: "Bearer " + key, ...headers };
  if (method === "POST") h["idempotency-key"] = crypto.randomUUID();
  const r = await fetch(path, { method, headers: h, body });
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw Object.assign(new Error((data && data.detail) || r.status), { status: r.status, problem: data });
  return data;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  return td;
}
function rows(id, items, fields) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...items.map((it) => {
    const tr = document.createElement("tr");
    tr.append(...fields.map((f) => cell(typeof f === "function" ? f(it) : it[f])));
    return tr;
  }));
}

// A small Markdown renderer for what Quire writes: headings, paragraphs,
// lists, GFM tables, code fences, rules. Text goes in as text nodes only.
function render(md) {
  const out = document.createElement("div");
  const blocks = md.split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n");
    let el;
    const h = /^(#{1,6}) (.*)$/.exec(block);
    if (h && lines.length === 1) {
      el = document.createElement("h" + h[1].length);
      el.textContent = h[2];
    } else if (block.startsWith("```")) {
      el = document.createElement("pre");
      el.textContent = lines.slice(1, -1).join("\n");
    } else if (lines.length > 1 && /^\|.*\|$/.test(lines[0]) && /^\|( *-+ *\|)+$/.test(lines[1])) {
      el = document.createElement("table");
      const cells = (l) => l.slice(1, -1).split(" | ").map((c) => c.trim());
      lines.filter((_, i) => i !== 1).forEach((l, i) => {
        const tr = el.insertRow();
        for (const c of cells(l)) {
          const td = document.createElement(i === 0 ? "th" : "td");
          td.textContent = c;
          tr.append(td);
        }
      });
    } else if (lines.every((l) => /^\s*- /.test(l))) {
      el = document.createElement("ul");
      for (const l of lines) {
        const li = document.createElement("li");
        li.textContent = l.replace(/^\s*- /, "");
        el.append(li);
      }
    } else if (block.trim() === "---") {
      el = document.createElement("hr");
    } else {
      el = document.createElement("p");
      el.textContent = block.replace(/\\([\\`*_{}\[\]()#+\-.!|<>])/g, "$1");
    }
    out.append(el);
  }
  return out;
}

// The tenant's recent jobs (GET /v1/jobs), the ones this tab follows kept live.
const jobs = [];
const JOB_FIELDS = ["id", "status", "progress", (j) => (j.command_progress || []).map((c) => c.name).join(", "), "created_at"];
async function extract(file) {
  $("error").textContent = "";
  $("status").textContent = "uploading " + file.name;
  $("progress").value = 0;
  try {
    const doc = await api("POST", "/v1/documents", { body: file, headers: { "content-type": file.type || "application/octet-stream", "x-filename": file.name } });
    const job = await api("POST", "/v1/jobs", { body: JSON.stringify({ document_id: doc.id, commands: [{ name: "extract" }] }), headers: { "content-type": "application/json" } });
    jobs.unshift(job);
    rows("jobs", jobs, JOB_FIELDS);
    const done = await follow(job.id);
    if (done.status !== "succeeded") throw new Error(done.error ? done.error.code + ": " + done.error.message : done.status);
    const result = await api("GET", "/v1/jobs/" + job.id + "/result?command=extract");
    $("markdown").replaceChildren(render(result.markdown));
    $("markdown").classList.remove("muted");
    rows("elements", result.elements, ["type", "page", (e) => (e.bbox ? e.bbox.join(", ") : ""), (e) => e.text.slice(0, 120)]);
    $("status").textContent = "done: " + result.pages + " page(s)" + (result.warnings && result.warnings.length ? ", warnings: " + result.warnings.join("; ") : "");
    refresh();
  } catch (e) {
    $("error").textContent = e.message;
    $("status").textContent = "failed";
  }
}

// The job's progress, live, from its event stream (polled if the stream fails).
async function follow(id) {
  const show = (job) => {
    $("progress").value = job.progress || 0;
    $("status").textContent = job.status + " " + (job.progress || 0) + "%";
    const mine = jobs.find((j) => j.id === id);
    if (mine) Object.assign(mine, job);
    rows("jobs", jobs, JOB_FIELDS);
  };
  try {
    const r = await fetch("/v1/jobs/" + id + "/events", { headers: { authorization: "Bearer " + key } });
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let at;
      while ((at = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
        if (data) {
          try { show(JSON.parse(data)); } catch (_) { /* keep-alive or text */ }
        }
        if (/^event: done/m.test(frame)) { reader.cancel(); break; }
      }
    }
  } catch (_) { /* fall back to polling */ }
  for (;;) {
    const job = await api("GET", "/v1/jobs/" + id);
    show(job);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function chart(daily) {
  const days = Object.keys(daily || {}).sort();
  const svg = $("chart");
  const max = Math.max(1, ...days.map((d) => daily[d].requests || 0));
  const width = 100 / Math.max(days.length, 1);
  svg.replaceChildren(...days.map((d, i) => {
    const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const h = 80 * (daily[d].requests || 0) / max;
    r.setAttribute("x", i * width + "%");
    r.setAttribute("width", width * 0.8 + "%");
    r.setAttribute("y", 85 - h);
    r.setAttribute("height", h);
    const t = document.createElementNS("http://www.w3.org/2000/svg", "title");
    t.textContent = d + ": " + (daily[d].requests || 0) + " requests";
    r.append(t);
    return r;
  }));
}

async function refresh() {
  const me = await api("GET", "/v1/me");
  $("who").textContent = (me.tenant_id || "") + " · " + (me.role || "");
  const docs = await api("GET", "/v1/documents?limit=20");
  rows("documents", docs.data || [], ["filename", "media_type", "size_bytes", "created_at"]);
  const recent = await api("GET", "/v1/jobs?limit=20");
  jobs.splice(0, jobs.length, ...(recent.data || []));
  rows("jobs", jobs, JOB_FIELDS);
  try {
    const usage = await api("GET", "/v1/usage");
    $("budgets").replaceChildren(...Object.entries(usage.usage || {}).map(([metric, u]) => {
      const p = document.createElement("div");
      p.textContent = metric + ": " + u.used + (u.budget != null ? " of " + u.budget + " (" + u.remaining + " left)" : "");
      return p;
    }));
    $("budgets").classList.remove("muted");
    chart(usage.daily);
  } catch (e) {
    $("budgets").textContent = e.status === 403 ? "usage needs tenant:admin" : e.message;
  }
  try {
    const [keys, audit] = await Promise.all([api("GET", "/v1/keys"), api("GET", "/v1/audit?limit=20")]);
    rows("keys", keys.data || [], ["id", "name", "role", "status"]);
    rows("audit", audit.data || [], ["at", "action", "actor", "outcome"]);
    $("admin").hidden = false;
  } catch (_) {
    $("admin").hidden = true;
  }
}

$("connect").onclick = async () => {
  key = $("key").value.trim();
  sessionStorage.setItem("quire-key", key);
  $("error").textContent = "";
  try { await refresh(); } catch (e) { $("error").textContent = e.message; }
};
$("file").onchange = (e) => e.target.files[0] && extract(e.target.files[0]);
const drop = $("drop");
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) extract(e.dataTransfer.files[0]); };
if (key) refresh().catch((e) => { $("error").textContent = e.message; });
