// `npm run bench:compile`: how long V8 takes to compile each worker's wasm
// module, the part of a cold start that grows with the module. Each
// measurement is a fresh Node process (V8 keeps compiled modules by their
// bytes within a process), the modules alternating round by round so a
// noisy machine weighs on all of them alike. Two figures per module:
// `WebAssembly.compile` as V8 does it by default (lazy: functions are
// compiled on first call), and with --no-wasm-lazy-compilation (every
// function up front by Liftoff, V8's baseline compiler), the upper bound.
// Node's V8 is not workerd's, so the ratios between modules are the result;
// the absolute times are this machine's.
//
//   COMPILE_ROUNDS (7)      measurements per module and mode
//   QUIRE_BASELINE=<dir>    also measure <dir>/index_bg.wasm as `baseline`
//                           (e.g. the API worker built at an earlier commit)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.COMPILE_ROUNDS ?? 7);

const modules = [
  ["api", path.join(root, "build/api/index_bg.wasm")],
  ["jobs", path.join(root, "build/jobs/index_bg.wasm")],
];
if (process.env.QUIRE_BASELINE) modules.unshift(["baseline", path.join(process.env.QUIRE_BASELINE, "index_bg.wasm")]);
for (const [name, file] of modules) {
  if (!existsSync(file)) throw new Error(`${name}: ${file} is missing (npm run build)`);
}

const probe = `
  const bytes = require("node:fs").readFileSync(process.argv[1]);
  const t = performance.now();
  WebAssembly.compile(bytes).then(() => console.log(performance.now() - t));
`;
const once = (file, eager) =>
  Number(execFileSync(process.execPath, [...(eager ? ["--no-wasm-lazy-compilation"] : []), "-e", probe, file]).toString());

const times = Object.fromEntries(modules.map(([name]) => [name, { lazy: [], eager: [] }]));
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, file] of modules) {
    times[name].lazy.push(once(file, false));
    times[name].eager.push(once(file, true));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, file] of modules) {
  const gz = gzipSync(readFileSync(file), { level: 9 }).length;
  console.log(
    `${name}: ${statSync(file).size} bytes raw, ${gz} gzipped; compile median ${median(times[name].lazy).toFixed(1)} ms lazy, ` +
      `${median(times[name].eager).toFixed(1)} ms eager (${ROUNDS} rounds)`,
  );
}
if (times.baseline) {
  for (const mode of ["lazy", "eager"]) {
    const r = median(times.api[mode]) / median(times.baseline[mode]);
    console.log(`api against baseline, ${mode}: ${r.toFixed(2)}×`);
  }
}
