// The npm package inside a real bundler: a Vite app imports "consentry",
// builds, and runs in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { browser, cookies } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

test("a Vite app importing the npm package builds and shows the banner", { timeout: 120000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-vite-"));
  execFileSync(path.join(here, "node_modules", ".bin", "vite"), ["build", "--logLevel", "error", "--outDir", out, "--emptyOutDir"], {
    cwd: path.join(here, "vite-app"),
    stdio: "inherit",
  });
  const built = fs.readdirSync(path.join(out, "assets"));
  assert.ok(built.some((f) => f.endsWith(".wasm")), `the wasm is emitted as an asset: ${built}`);
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    const file = path.join(out, p === "/" ? "index.html" : p);
    if (!file.startsWith(out) || !fs.existsSync(file)) {
      res.writeHead(p === "/favicon.ico" ? 204 : 404);
      res.end();
      return;
    }
    const type = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" }[path.extname(file)];
    res.writeHead(200, { "content-type": type || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const chrome = await browser();
  try {
    const context = await chrome.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.initialState);
    assert.equal(await page.isVisible("#consentry-banner"), true);
    assert.equal(await page.textContent("#consentry-banner .consentry-banner__title"), "Vos choix concernant les cookies", "language from <html lang>");
    assert.equal(await page.evaluate(() => window.viteAnalytics), undefined);
    await page.click("[data-consentry-action='accept-all']");
    assert.equal(await page.textContent("#state"), "analytics on");
    assert.equal(await page.evaluate(() => window.viteAnalytics), 1);
    assert.match((await cookies(context, page)).consentry, /\.analytics\./);
    assert.deepEqual(errors, []);
  } finally {
    await chrome.close();
    server.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
});
