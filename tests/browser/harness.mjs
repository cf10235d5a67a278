// Shared by the browser tests: a static file server on 127.0.0.1, Debian's
// Chromium through playwright-core, and axe-core.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
const dist = path.join(root, "www", "dist");
const fixtures = path.join(here, "fixtures");

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
};

/** Serves www/dist under /consentry/ and the fixtures at /, recording every request path. */
export async function staticServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    requests.push(url.pathname);
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      res.end();
      return;
    }
    let file;
    if (url.pathname.startsWith("/consentry/")) file = path.join(dist, url.pathname.slice("/consentry/".length));
    else file = path.join(fixtures, url.pathname === "/" ? "static.html" : url.pathname);
    const base = url.pathname.startsWith("/consentry/") ? dist : fixtures;
    if (!path.resolve(file).startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    const headers = { "content-type": types[path.extname(file)] || "application/octet-stream", "cache-control": "no-store" };
    if (url.pathname === "/csp.html") {
      headers["content-security-policy"] = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-n0nc3'; style-src 'self'";
    }
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

/**
 * How many tests of one file run at once where they share nothing but the
 * browser and the server (rows of different sites, embedding cases): most
 * of their time is spent waiting for the network to go quiet, not on the
 * CPU. `CONSENTRY_BROWSER_PARALLEL=1` runs them one by one.
 */
export const PARALLEL = Math.max(1, Number(process.env.CONSENTRY_BROWSER_PARALLEL) || 4);

export const CHROMIUM = process.env.CONSENTRY_CHROMIUM || "/usr/bin/chromium";

export async function browser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // One renderer per test site rather than per origin and frame, and no
      // features a test never uses: the browser tests are bound by the CPU
      // on two cores, and most of it went to starting renderer processes.
      "--disable-site-isolation-trials",
      "--disable-features=site-per-process,IsolateOrigins,Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions",
      "--disable-extensions",
      "--mute-audio",
    ],
  });
}

const axeSource = fs.readFileSync(path.join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** Runs axe-core on `selector` (WCAG 2.x A/AA rules) and returns the violations. */
export async function axe(page, selector) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (sel) => {
    const result = await window.axe.run(sel, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html + " :: " + n.failureSummary) }));
  }, selector);
}

/**
 * The browser's cookies (the store a reload sends from), as { name: value }.
 * With `page`, first waits (up to 2 s) until the store agrees with the
 * page's own `document.cookie`: a script's cookie write reaches the store a
 * moment after the page sees it, longer on a loaded machine.
 */
export async function cookies(context, page) {
  const read = async () => Object.fromEntries((await context.cookies()).map((c) => [c.name, c.value]));
  if (!page || page.isClosed()) return read();
  for (let i = 0; i < 40; i++) {
    const seen = await page.evaluate(() => document.cookie);
    const inPage = Object.fromEntries(seen.split("; ").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const store = Object.fromEntries((await context.cookies(page.url())).filter((c) => !c.httpOnly).map((c) => [c.name, c.value]));
    const same = Object.keys(inPage).length === Object.keys(store).length && Object.keys(inPage).every((k) => store[k] === inPage[k]);
    if (same) break;
    await page.waitForTimeout(50);
  }
  return read();
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `bin` with `args` and resolves with the URL it prints as
 * `listening on http://…` (or as the first group of `started`), and the
 * child; rejects after 20 s.
 */
export async function spawnListening(bin, args, name, { stderr = "inherit", cwd, started = /listening on (http:\/\/\S+)/ } = {}) {
  const child = spawn(bin, args, { cwd, stdio: ["ignore", "pipe", stderr] });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20000);
    child.stdout.on("data", (d) => {
      const m = String(d).match(started);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { child, url };
}

/**
 * Starts the demo binary on a free port with a fresh receipts database;
 * `extra` adds arguments (e.g. `["--no-layer"]`).
 */
export async function startDemo(extra = []) {
  const bin = process.env.CONSENTRY_DEMO_BIN || path.join(root, "target", "debug", "consentry-demo");
  if (!fs.existsSync(bin)) throw new Error(`build the demo first (cargo build -p consentry-demo): ${bin}`);
  const port = await freePort();
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consentry-demo-")), "receipts.db");
  const args = ["--addr", `127.0.0.1:${port}`, "--assets", path.join(root, "www", "dist"), "--db", db, ...extra];
  // "serving the five demo sites [WITHOUT ConsentLayer] on http://127.0.0.1:PORT/ …"
  const { child, url } = await spawnListening(bin, args, "the demo", {
    cwd: root,
    started: /serving the five demo sites.*? on (http:\/\/[^/\s]+)/,
  });
  return { base: url, stop: () => child.kill("SIGINT") };
}

/**
 * The demo's tracker log at `base()` (the demo's URL): `hits(site)` (the
 * tracker paths its stubs recorded for a site) and `reset(site?)` (clears it,
 * or only the hits of `site`, so rows of different sites can run at once).
 */
export function trackerLog(base) {
  return {
    async hits(site) {
      const res = await fetch(`${base()}/_inspector/hits?site=${site}`);
      return (await res.json()).hits.map((h) => h.path);
    },
    async reset(site) {
      const only = site ? `?site=${encodeURIComponent(site)}` : "";
      await fetch(`${base()}/_inspector/reset${only}`, { method: "POST" });
    },
  };
}

/**
 * For a test file: starts the demo (with `extra` arguments, e.g.
 * `["--server", "actix"]`) and a browser before its tests and stops both
 * after them. The returned object is filled in by then: `base` (the
 * demo's URL), `chrome`, `hits(site)` (the tracker paths the demo's stubs
 * recorded for a site) and `reset()` (clears that log).
 */
export function useDemo(extra = []) {
  let demo;
  const env = { base: null, chrome: null, ...trackerLog(() => env.base) };
  before(async () => {
    demo = await startDemo(extra);
    env.base = demo.base;
    env.chrome = await browser();
  });
  after(async () => {
    await env.chrome?.close();
    demo?.stop();
  });
  return env;
}
