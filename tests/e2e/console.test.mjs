// The console (/console) in a real browser: headless Chromium (Debian's
// `chromium`, installed with apt-get when missing) driven by puppeteer-core.
// Screenshots go to .tmp/console-*.png.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { api } from "./helpers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = path.join(root, ".tmp");

function chromium() {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) if (existsSync(p)) return p;
  const install = () => execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit" });
  try {
    install();
  } catch {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    install();
  }
  return "/usr/bin/chromium";
}

test("the console page is served with a CSP that allows only this origin's script", async () => {
  const page = await fetch(`${process.env.QUIRE_URL}/console`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  const csp = page.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  assert.match(await page.text(), /<script src="\/console\/app.js"><\/script>/);
  const script = await fetch(`${process.env.QUIRE_URL}/console/app.js`);
  assert.match(script.headers.get("content-type"), /javascript/);
  assert.ok(!(await api("GET", "/console", { key: null })).text.includes(process.env.QUIRE_ADMIN_KEY));
});

test("in Chromium: paste a key, drop a document, watch it extract, see Markdown, elements, usage and the admin tables", { timeout: 180_000 }, async () => {
  const browser = await puppeteer.launch({ executablePath: chromium(), headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${process.env.QUIRE_URL}/console`, { waitUntil: "load" });
    mkdirSync(shots, { recursive: true });
    await page.type("#key", process.env.QUIRE_ADMIN_KEY);
    await page.click("#connect");
    await page.waitForFunction(() => document.querySelector("#who").textContent.includes("owner") || document.querySelector("#who").textContent.includes("admin"));
    const file = path.join(shots, "console-report.md");
    writeFileSync(file, "# Console report\n\nSales rose in spring.\n\n| Month | Sales |\n|---|---|\n| April | 10 |\n| May | 14 |\n");
    const input = await page.$("#file");
    await input.uploadFile(file);
    await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("done"), { timeout: 120_000 });
    await page.screenshot({ path: path.join(shots, "console-result.png"), fullPage: true });
    const seen = await page.evaluate(() => ({
      h1: document.querySelector("#markdown h1")?.textContent,
      cells: [...document.querySelectorAll("#markdown table td")].map((td) => td.textContent),
      elements: [...document.querySelectorAll("#elements tbody tr td:first-child")].map((td) => td.textContent),
      progress: document.querySelector("#progress").value,
      jobs: [...document.querySelectorAll("#jobs tbody tr td:nth-child(2)")].map((td) => td.textContent),
      documents: document.querySelectorAll("#documents tbody tr").length,
      bars: document.querySelectorAll("#chart rect").length,
      budgets: document.querySelector("#budgets").textContent,
      admin: !document.querySelector("#admin").hidden,
      keys: document.querySelectorAll("#keys tbody tr").length,
      audit: document.querySelectorAll("#audit tbody tr").length,
      stored: sessionStorage.getItem("quire-key") !== null,
      persisted: localStorage.length,
    }));
    assert.equal(seen.h1, "Console report");
    assert.deepEqual(seen.cells, ["April", "10", "May", "14"]);
    assert.ok(seen.elements.includes("heading") && seen.elements.includes("table"), JSON.stringify(seen.elements));
    assert.equal(seen.progress, 100);
    // The tenant's recent jobs (GET /v1/jobs), newest first: this one on top.
    assert.equal(seen.jobs[0], "succeeded", JSON.stringify(seen.jobs));
    assert.ok(seen.jobs.length >= 1 && seen.jobs.length <= 20);
    assert.ok(seen.documents >= 1 && seen.bars >= 1, JSON.stringify(seen));
    assert.match(seen.budgets, /requests: \d+/);
    assert.ok(seen.admin && seen.keys >= 1 && seen.audit >= 1, JSON.stringify(seen));
    assert.ok(seen.stored && seen.persisted === 0, "the key stays in the tab (sessionStorage), nothing in localStorage");
    assert.deepEqual(errors, []);
    // A document the service cannot read is shown as an error, typed.
    const bad = path.join(shots, "console-bad.pdf");
    writeFileSync(bad, "%PDF-1.4 not really");
    await (await page.$("#file")).uploadFile(bad);
    await page.waitForFunction(() => document.querySelector("#status").textContent === "failed", { timeout: 60_000 });
    const error = await page.$eval("#error", (e) => e.textContent);
    assert.match(error, /\w+/);
    await page.screenshot({ path: path.join(shots, "console-error.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});
