// Large downloads through the real runtime: streamed from R2 a chunk of
// encrypted segments at a time, and ranges that read only their segments.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { test } from "node:test";
import { api, BASE, ADMIN_KEY, UPLOAD_LIMIT, callsIn } from "./helpers.mjs";

function bigText(n) {
  const line = "The quick brown fox jumps over the lazy dog 0123456789.\n";
  return Buffer.from(line.repeat(Math.ceil(n / line.length)).slice(0, n));
}

/** PUTs part `n` (1-based) of `bytes` to upload `id`. */
const putPart = (id, bytes, partSize, n) => fetch(`${BASE}/v1/uploads/${id}/parts/${n}`, {
  method: "PUT",
  headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/octet-stream" },
  body: bytes.subarray((n - 1) * partSize, Math.min(n * partSize, bytes.length)),
});

const calls = (requestId) => callsIn(readFileSync(process.env.QUIRE_LOG_FILE, "utf8"), requestId);

test("a large document downloads streamed, whole and in ranges, read by segments", async () => {
  const size = Math.min(UPLOAD_LIMIT - 1000, 1_900_000);
  const text = bigText(size);
  const up = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: text });
  assert.equal(up.status, 201, up.text);
  const url = `${BASE}/v1/documents/${up.json.id}/content`;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };

  // identity: no transfer compression, so the length is the stored one.
  const full = await fetch(url, { headers: { ...auth, "accept-encoding": "identity" } });
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("content-length"), String(size));
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(body.length, size);
  assert.ok(body.equals(text), "the streamed bytes are the uploaded bytes");
  await new Promise((r) => setTimeout(r, 300));
  const fullCalls = calls(full.headers.get("x-request-id")).filter((c) => c.dependency === "r2");
  // Header + one read per 1 MiB chunk, never the whole object at once.
  assert.ok(fullCalls.every((c) => c.op === "get range"), JSON.stringify(fullCalls.map((c) => c.op)));
  assert.ok(fullCalls.length >= 3, `${fullCalls.length} reads`);

  const part = await fetch(url, { headers: { ...auth, range: "bytes=1000000-1000099" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 1000000-1000099/${size}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(text.subarray(1_000_000, 1_000_100)));
  await new Promise((r) => setTimeout(r, 300));
  const partCalls = calls(part.headers.get("x-request-id")).filter((c) => c.dependency === "r2");
  assert.deepEqual(partCalls.map((c) => c.op), ["get range", "get range"], "the header, then one or two segments");

  const tail = await fetch(url, { headers: { ...auth, range: "bytes=-70000" } });
  assert.equal(tail.status, 206);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(text.subarray(size - 70_000)));
});

test("a resumable upload in R2 multipart parts, out of order, becomes a document", { timeout: 120_000 }, async () => {
  const { createHash } = await import("node:crypto");
  const size = 17 * 1024 * 1024 + 12345;
  const text = bigText(size);
  const sha256 = createHash("sha256").update(text).digest("hex");
  const start = await api("POST", "/v1/uploads", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: "big.txt", content_type: "text/plain", size, sha256 }),
  });
  assert.equal(start.status, 201, start.text);
  const { id, part_size: partSize, parts } = start.json;
  assert.equal(parts, Math.ceil(size / partSize));
  const put = (n) => putPart(id, text, partSize, n);
  // Last first, then the rest; part 1 twice (a client retry).
  for (const n of [parts, 1, 1, ...Array.from({ length: parts - 2 }, (_, i) => i + 2)]) {
    assert.equal((await put(n)).status, 200, `part ${n}`);
  }
  const wrong = await fetch(`${BASE}/v1/uploads/${id}/parts/1`, {
    method: "PUT", headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: "short",
  });
  assert.equal(wrong.status, 422);
  const progress = await api("GET", `/v1/uploads/${id}`);
  assert.deepEqual(progress.json.parts_missing, []);
  const done = await api("POST", `/v1/uploads/${id}/complete`);
  assert.equal(done.status, 201, done.text);
  assert.equal(done.json.sha256, sha256);
  assert.equal(done.json.size_bytes, size);

  const url = `${BASE}/v1/documents/${done.json.id}/content`;
  const full = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}`, "accept-encoding": "identity" } });
  assert.equal(full.status, 200);
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(body.length, size);
  assert.ok(body.equals(text), "the streamed download is the uploaded file");
  const across = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}`, range: `bytes=${partSize - 50}-${partSize + 49}` } });
  assert.equal(across.status, 206);
  assert.ok(Buffer.from(await across.arrayBuffer()).equals(text.subarray(partSize - 50, partSize + 50)));
  assert.equal((await api("GET", `/v1/uploads/${id}`)).status, 404, "the upload is over");
  assert.equal((await api("DELETE", `/v1/documents/${done.json.id}`)).status, 204);
});

test("a signature split across two parts of a resumable upload is found at completion", { timeout: 120_000 }, async () => {
  const eicar = Buffer.from("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
  const start = await api("POST", "/v1/uploads", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: "split.txt", content_type: "text/plain", size: 8 * 1024 * 1024 + 4096 }),
  });
  assert.equal(start.status, 201, start.text);
  const { id, part_size: partSize, parts } = start.json;
  assert.equal(parts, 2);
  const text = bigText(8 * 1024 * 1024 + 4096);
  eicar.copy(text, partSize - 30);
  // Part 2 first: neither part holds the whole signature.
  for (const n of [2, 1]) {
    assert.equal((await putPart(id, text, partSize, n)).status, 200, `part ${n}`);
  }
  const done = await api("POST", `/v1/uploads/${id}/complete`);
  assert.equal(done.status, 422, done.text);
  assert.equal(done.json.code, "malware_detected");
  assert.equal((await api("GET", `/v1/uploads/${id}`)).status, 404, "the upload is discarded");
});

/** A zip of stored (uncompressed) members, written by hand. */
function storedZip(members) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of members) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    locals.push(local, n, data);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(n.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

test("a large archive is scanned from its directory, read by range from R2", { timeout: 120_000 }, async () => {
  const { randomBytes } = await import("node:crypto");
  const docm = storedZip([
    ["[Content_Types].xml", Buffer.from("<Types/>")],
    ["word/media/image1.bin", randomBytes(9 * 1024 * 1024)],
    ["word/document.xml", Buffer.from("<w:document/>")],
    ["word/vbaProject.bin", Buffer.from("macro")],
  ]);
  const type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  const start = await api("POST", "/v1/uploads", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: "big.docm", content_type: type, size: docm.length }),
  });
  assert.equal(start.status, 201, start.text);
  const { id, part_size: partSize, parts } = start.json;
  assert.equal(parts, 2);
  for (const n of [1, 2]) {
    assert.equal((await putPart(id, docm, partSize, n)).status, 200, `part ${n}`);
  }
  const done = await api("POST", `/v1/uploads/${id}/complete`);
  assert.equal(done.status, 201, done.text);
  assert.equal(done.json.scan.sniffed_type, type);
  assert.deepEqual(done.json.scan.flags, ["macros"]);
  assert.equal((await api("DELETE", `/v1/documents/${done.json.id}`)).status, 204);
});

test("WebCrypto (used by the worker) and the aes-gcm crate seal a segment to the same bytes", async () => {
  const r = await fetch(`${BASE}/__test/crypto?engine=compare`);
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(body.same, true);
});
