// `consentry serve --upstream` in front of a site that is not written in Rust
// (a Node server that gzips every page and knows nothing of consent), in
// headless Chromium: the tracker the page embeds is never requested before
// consent, the banner is there at first paint, and "Accept all" switches the
// tracker on without a reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { browser, cookies, root, spawnListening } from "./harness.mjs";

const GA = "https://www.googletagmanager.com/gtag/js?id=G-AB12CD34";
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script async src="${GA}"></script>
</head><body><h1>A shop that never heard of consent</h1>
<img src="https://www.google-analytics.com/g/collect?v=2&tid=G-AB12CD34" alt="" width="1" height="1">
</body></html>`;

let upstream;
let proxy;
let base;
let chrome;
let db;

before(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    // Gzipped whatever the request asked for, as many upstreams do.
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-encoding": "gzip" });
    res.end(zlib.gzipSync(PAGE));
  });
  await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const bin = process.env.CONSENTRY_CLI_BIN || path.join(root, "target", "debug", "consentry");
  if (!fs.existsSync(bin)) throw new Error(`build it first (cargo build -p consentry-cli): ${bin}`);
  db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consentry-serve-")), "receipts.db");
  const args = [
    "serve",
    "--policy",
    path.join(root, "www", "policies", "redis.json"),
    "--upstream",
    `http://127.0.0.1:${upstream.address().port}`,
    "--addr",
    "127.0.0.1:0",
    "--assets",
    path.join(root, "www", "dist"),
    "--db",
    db,
  ];
  ({ child: proxy, url: base } = await spawnListening(bin, args, "consentry serve", { stderr: "ignore" }));
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  proxy?.kill();
  await new Promise((r) => (upstream ? upstream.close(r) : r()));
  if (db) fs.rmSync(path.dirname(db), { recursive: true, force: true });
});

test("consentry serve in front of a Node site: nothing tracks before consent, Accept all switches it on", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  const trackers = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).host === new URL(base).host) return route.continue();
    trackers.push(url);
    return route.fulfill({ status: 200, contentType: "text/javascript", body: "" });
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.equal(await page.isVisible("#consentry-banner"), true, "the banner is on the page");
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-rendered"), "server", "rendered by the proxy");
  await page.waitForTimeout(300);
  assert.deepEqual(trackers, [], "no tracker requested before consent");
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => !document.getElementById("consentry-banner") || document.getElementById("consentry-banner").hidden);
  await page.waitForTimeout(300);
  assert.ok(trackers.some((u) => u.startsWith("https://www.googletagmanager.com/gtag/js")), `GA switched on: ${trackers}`);
  assert.match((await cookies(context, page)).consentry || "", /analytics/);
  assert.deepEqual(errors, []);
  await context.close();
});
