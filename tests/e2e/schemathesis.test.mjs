// Schemathesis (PyPI) against the served /openapi.json: every check, every
// phase (examples, coverage, fuzzing, stateful), as a fresh tenant's owner.
// It fails on any 5xx, any response outside the document, any schema-valid
// request refused and any invalid one accepted. Bounded by SCHEMATHESIS_SECONDS
// (default 120) so `npm test` stays short; a new random seed every run, printed
// so a failure can be replayed with `--seed`.
//
// Left out: the operations that would lock the fuzzer out of its own tenant
// (rotating or revoking its key, erasing the tenant); they are covered by
// their own end-to-end tests. Operator routes are fuzzed with the tenant's
// key, so only their refusals are exercised.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { api } from "./helpers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SECONDS = Number(process.env.SCHEMATHESIS_SECONDS ?? 120);
const SELF_LOCKOUT = ["rotateKey", "revokeKey", "eraseTenant"];

function run(args, key) {
  return new Promise((resolve) => {
    const config = ["--config-file", path.join(root, "tests/e2e/schemathesis.toml")];
    const child = spawn("sh", [path.join(root, "scripts/schemathesis.sh"), ...config, ...args], {
      cwd: root,
      env: { ...process.env, QUIRE_FUZZ_KEY: key, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

test("the schemathesis configuration turns off only the checks its exceptions name", async () => {
  // Installs the pinned version first when it is missing.
  const version = await run(["--version"], "");
  assert.equal(version.code, 0, version.out);
  const child = spawn(path.join(root, "target/schemathesis/bin/python"), [path.join(root, "tests/e2e/schemathesis_config_check.py")], {
    cwd: root,
    env: { ...process.env, QUIRE_FUZZ_KEY: "unused" },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, out);
});

test("schemathesis finds no server error and no schema violation either way", { timeout: (SECONDS + 240) * 1000 }, async () => {
  const tenant = await api("POST", "/v1/tenants", {
    key: process.env.QUIRE_OPERATOR_KEY,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: `schemathesis ${Date.now()}` }),
  });
  assert.equal(tenant.status, 201, tenant.text);
  const key = tenant.json.owner_key.secret;
  const seed = Math.floor(Math.random() * 2 ** 31);
  const args = [
    "run",
    `${process.env.QUIRE_URL}/openapi.json`,
    "--url",
    process.env.QUIRE_URL,
    "--phases",
    "examples,coverage,fuzzing,stateful",
    "--max-time",
    String(SECONDS),
    "--request-timeout",
    "20",
    "--seed",
    String(seed),
    "--workers",
    "2",
    "--no-shrink",
    "--suppress-health-check",
    "all",
    "--output-truncate",
    "true",
    ...SELF_LOCKOUT.flatMap((id) => ["--exclude-operation-id", id]),
  ];
  const { code, out } = await run(args, key);
  console.log(`schemathesis seed ${seed}, exit ${code}\n${out.split("\n").slice(-40).join("\n")}`);
  // The failures first: a CI log keeps the head of a long message.
  const failures = out.slice(Math.max(0, out.indexOf("FAILURES")));
  assert.equal(code, 0, `seed ${seed}\n${failures}`);
});
