// `npm run ocr:models -- deu fra …`: installs OCR languages. Each model
// (Tesseract's `best_int`, from the npm package @tesseract.js-data/<lang>,
// fetched with npm when it is not here) is sent to the running service's
// operator route PUT /v1/admin/ocr-models/<lang>, which keeps it in R2
// for the jobs worker. English is built in.
//   QUIRE_URL (default http://127.0.0.1:8787) and OPERATOR_API_KEY
//   (default: .dev.vars) say where and as whom.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const languages = process.argv.slice(2);
if (!languages.length || languages.some((l) => !/^[a-z]{3}(_[a-z]{3,4})?$/.test(l))) {
  console.error("usage: npm run ocr:models -- <language> … (Tesseract codes: deu fra chi_sim …)");
  process.exit(2);
}
const devVars = existsSync(path.join(root, ".dev.vars"))
  ? Object.fromEntries(
      readFileSync(path.join(root, ".dev.vars"), "utf8")
        .split("\n")
        .map((l) => l.match(/^\s*([A-Z_]+)\s*=\s*"?([^"]*)"?\s*$/))
        .filter(Boolean)
        .map((m) => [m[1], m[2]]),
    )
  : {};
const base = process.env.QUIRE_URL ?? "http://127.0.0.1:8787";
const key = process.env.OPERATOR_API_KEY ?? devVars.OPERATOR_API_KEY;
if (!key) {
  console.error("ocr:models needs OPERATOR_API_KEY (environment or .dev.vars)");
  process.exit(2);
}
for (const lang of languages) {
  if (lang === "eng") {
    console.log("eng: built in");
    continue;
  }
  const file = path.join(root, "node_modules", "@tesseract.js-data", lang, "4.0.0_best_int", `${lang}.traineddata.gz`);
  if (!existsSync(file)) {
    execFileSync("npm", ["install", "--no-save", `@tesseract.js-data/${lang}@1.0.0`], { cwd: root, stdio: "inherit" });
  }
  const model = readFileSync(file);
  const r = await fetch(`${base}/v1/admin/ocr-models/${lang}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/gzip" },
    body: model,
  });
  console.log(`${lang}: ${r.status} ${await r.text()}`);
  if (!r.ok) process.exitCode = 1;
}
