// Removes the `name` custom section (function names for stack traces,
// about a fifth of the module) from a built wasm file, in place. It is
// removed after wasm-bindgen, which needs its own custom sections and so
// cannot run on a module linked with `strip`. workerd then compiles less
// and every cold start loads less; a panic's stack shows function indices
// instead of names (`QUIRE_KEEP_NAMES=1 npm run build` keeps them).
//
//   node scripts/strip-names.mjs build/index_bg.wasm
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const bytes = readFileSync(file);
if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${file}: not a wasm module`);

function leb(at) {
  let value = 0;
  let shift = 0;
  let p = at;
  for (;;) {
    const b = bytes[p++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [value, p];
  }
}

const kept = [bytes.subarray(0, 8)];
let removed = 0;
let p = 8;
while (p < bytes.length) {
  const start = p;
  const id = bytes[p++];
  const [size, body] = leb(p);
  const end = body + size;
  if (end > bytes.length) throw new Error(`${file}: section at ${start} runs past the end`);
  let drop = false;
  if (id === 0) {
    const [nameLength, nameAt] = leb(body);
    drop = bytes.subarray(nameAt, nameAt + nameLength).toString() === "name";
  }
  if (drop) removed += end - start;
  else kept.push(bytes.subarray(start, end));
  p = end;
}
if (removed) writeFileSync(file, Buffer.concat(kept));
console.log(`strip-names: ${file}: removed ${removed} bytes of function names`);
