// Bad input and bad credentials: always a typed problem+json, never a crash.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_KEY, UPLOAD_LIMIT, api, assertProblem, upload } from "./helpers.mjs";

test("requests without a key, with a wrong key or a foreign scheme are refused", async () => {
  assertProblem(await api("GET", "/v1/documents", { key: null }), 401, "unauthorized");
  assertProblem(await api("GET", "/v1/documents", { key: "qk_test_notarealkey000000000000000000" }), 401, "unauthorized");
  const basic = await api("GET", "/v1/documents", { key: null, headers: { authorization: "Basic YTpi" } });
  assertProblem(basic, 401, "unauthorized");
  const twice = await api("GET", "/v1/documents", { key: null, headers: { authorization: `Bearer ${ADMIN_KEY}, Bearer ${ADMIN_KEY}` } });
  assertProblem(twice, 401, "unauthorized");
});

test("unknown routes are 404 and wrong methods 405, as problem+json", async () => {
  assertProblem(await api("GET", "/v1/nothing-here"), 404, "not_found");
  const wrong = await api("PATCH", "/v1/documents");
  assertProblem(wrong, 405, "method_not_allowed");
  assert.equal(wrong.headers.get("allow"), "GET, POST");
});

test("a method workers-rs does not know (QUERY, PROPFIND) is 405 with Allow, not served as a GET", async () => {
  for (const method of ["QUERY", "PROPFIND"]) {
    for (const [route, allow] of [["/health", "GET"], ["/v1/documents", "GET, POST"]]) {
      const resp = await api(method, route);
      assertProblem(resp, 405, "method_not_allowed");
      assert.equal(resp.headers.get("allow"), allow);
    }
  }
});

test("a JSON body must be an object: an array or null is 422, not an empty update", async () => {
  for (const body of ["[]", "null", '["x"]']) {
    const resp = await api("POST", "/v1/keys", { headers: { "content-type": "application/json" }, body });
    assertProblem(resp, 422, "invalid_body");
  }
  const nullField = await api("POST", "/v1/keys", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "n", role: null }),
  });
  assertProblem(nullField, 422, "invalid_body");
});

test("unknown and malformed document and job ids are 404", async () => {
  assertProblem(await api("GET", "/v1/documents/doc_00000000000000000000000000"), 404, "not_found");
  assertProblem(await api("GET", "/v1/documents/'%20OR%201=1"), 404, "not_found");
  assertProblem(await api("GET", "/v1/jobs/job_00000000000000000000000000/result"), 404, "not_found");
});

test("an upload over the size limit is 413 and stores nothing", async () => {
  const before = (await api("GET", "/v1/documents?limit=100")).json.data.length;
  const big = Buffer.alloc(UPLOAD_LIMIT + 1, 97);
  const resp = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: big });
  assertProblem(resp, 413, "payload_too_large");
  const after = (await api("GET", "/v1/documents?limit=100")).json.data.length;
  assert.equal(after, before);
});

test("a media type Quire does not read is 415 naming the type", async () => {
  const resp = await api("POST", "/v1/documents", { headers: { "content-type": "image/heic" }, body: Buffer.from("\0\0\0\x18ftypheic") });
  assertProblem(resp, 415, "unsupported_media_type");
  assert.match(resp.json.detail, /image\/heic/);
});

test("an empty upload is 422 empty_body", async () => {
  const resp = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: "" });
  assertProblem(resp, 422, "empty_body");
});

test("a job request that is not valid JSON, or names no known command, is 422", async () => {
  const doc = await upload("x.txt", "text/plain", Buffer.from("x"));
  const post = (body) => api("POST", "/v1/jobs", { headers: { "content-type": "application/json" }, body });
  assertProblem(await post("{"), 422, "invalid_body");
  assertProblem(await post(JSON.stringify({ document_id: doc.id, commands: [{ name: "teleport" }] })), 422, "invalid_body");
  assertProblem(await post(JSON.stringify({ document_id: doc.id, commands: [] })), 422, "invalid_commands");
  assertProblem(await post(JSON.stringify({ document_id: "doc_00000000000000000000000000", commands: [{ name: "extract" }] })), 404, "not_found");
});

test("a null command option is 422, not a job run as if the option were left out", async () => {
  const doc = await upload("x.txt", "text/plain", Buffer.from("x"));
  const post = (body) => api("POST", "/v1/jobs", { headers: { "content-type": "application/json" }, body });
  const nulled = await post(JSON.stringify({ document_id: doc.id, commands: [{ name: "extract", options: { pages: null } }] }));
  assertProblem(nulled, 422, "invalid_body");
  const left = await post(JSON.stringify({ document_id: doc.id, commands: [{ name: "extract", options: {} }] }));
  assert.equal(left.status, 202, left.text);
});

test("content that is not what it claims is 415 naming both types", async () => {
  const { corpus } = await import("./helpers.mjs");
  const resp = await api("POST", "/v1/documents", {
    headers: { "content-type": "application/pdf", "x-filename": "fake.pdf" },
    body: corpus("fake.docx"),
  });
  assertProblem(resp, 415, "content_type_mismatch");
  assert.match(resp.json.detail, /application\/pdf/);
  assert.match(resp.json.detail, /wordprocessingml/);
});

test("the EICAR test file is refused as malware and nothing is stored", async () => {
  const eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  const resp = await api("POST", "/v1/documents", { headers: { "content-type": "text/plain" }, body: eicar });
  assertProblem(resp, 422, "malware_detected");
});

test("an accepted document shows what the scan found", async () => {
  const { upload } = await import("./helpers.mjs");
  const doc = await upload("fake.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  assert.equal(doc.scan.sniffed_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  assert.deepEqual(doc.scan.flags, []);
});
