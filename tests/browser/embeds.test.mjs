// Every way of embedding a tracker in fixtures/embeds/cases.json, served
// through ConsentLayer (the `embed_cases` example of consentry-tower) and
// loaded in headless Chromium with JavaScript on and off: before consent not
// one request may reach a tracker; with every category accepted, each
// observable case does request one (so the case is a real tracker, and the
// test can see it). Requests that leave 127.0.0.1 are answered here, never
// sent to the network.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PARALLEL, browser, root, spawnListening } from "./harness.mjs";

const dir = path.join(root, "tests", "browser", "fixtures", "embeds");
const { cases } = JSON.parse(fs.readFileSync(path.join(dir, "cases.json"), "utf8"));
const policy = JSON.parse(fs.readFileSync(path.join(dir, "policy.json"), "utf8"));

let server;
let base;
let chrome;

before(async () => {
  const bin = process.env.CONSENTRY_EMBEDS_BIN || path.join(root, "target", "debug", "examples", "embed_cases");
  if (!fs.existsSync(bin)) throw new Error(`build it first (cargo build -p consentry-tower --example embed_cases): ${bin}`);
  ({ child: server, url: base } = await spawnListening(bin, ["127.0.0.1:0", path.join(root, "www", "dist"), dir], "embed_cases"));
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  server?.kill();
});

/** A request a tracker would receive: any other host, or Matomo's files on this one. */
function isTracker(url) {
  const u = new URL(url);
  if (u.protocol === "data:" || u.protocol === "about:") return false;
  return u.host !== new URL(base).host || /\/(matomo|piwik)\.(js|php)$/.test(u.pathname);
}

/**
 * Answers every tracker request in `context` here (never on the network)
 * and records it: `{ trackers, lastActivity }`, the URLs and the time of
 * the last request seen.
 */
async function watch(context) {
  const seen = { trackers: [], lastActivity: Date.now() };
  await context.route("**/*", async (route) => {
    seen.lastActivity = Date.now();
    const url = route.request().url();
    if (!isTracker(url)) return route.continue();
    seen.trackers.push(url);
    const type = route.request().resourceType();
    const contentType = type === "document" ? "text/html" : type === "stylesheet" ? "text/css" : "text/javascript";
    return route.fulfill({ status: 200, contentType, body: "" });
  });
  return seen;
}

/**
 * Loads case `n` in a fresh context; returns the tracker URLs requested
 * until the network has been quiet for 400 ms (at most 6 s).
 */
async function load(n, { js, consent }) {
  const context = await chrome.newContext({ javaScriptEnabled: js });
  if (consent) {
    const now = Math.floor(Date.now() / 1000);
    const granted = policy.categories.filter((c) => !c.required).map((c) => c.id).join("~");
    await context.addCookies([
      { name: "consentry", value: `v1.${policy.revision}.${now}.${granted}.AAAAAAAAAAAAAAAAAAAAAA`, url: base },
    ]);
  }
  const seen = await watch(context);
  const page = await context.newPage();
  page.on("request", () => (seen.lastActivity = Date.now()));
  await page.goto(`${base}/case/${n}`, { waitUntil: "load" });
  const deadline = Date.now() + 6000;
  while (Date.now() - seen.lastActivity < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await context.close();
  return seen.trackers;
}

// Each case in its own browser contexts, several at once: a case waits
// mostly for the network to go quiet.
describe("every embedding", { concurrency: PARALLEL }, () => {
  cases.forEach((c, n) => {
    test(`embedding: ${c.name}`, { timeout: 60000 }, async () => {
      for (const js of [true, false]) {
        const seen = await load(n, { js, consent: false });
        assert.deepEqual(seen, [], `${c.name}, JavaScript ${js ? "on" : "off"}, no consent: tracker requested`);
      }
      if (c.observable === false) return;
      const withConsent = [...(await load(n, { js: true, consent: true })), ...(await load(n, { js: false, consent: true }))];
      assert.ok(withConsent.length > 0, `${c.name}: with consent, the case should reach its tracker (else it tests nothing)`);
    });
  });

  // Without a reload: the page loaded before any choice, then "Accept all"
  // clicked in the banner. Each shape the server gated must come back in the
  // page (scripts and style sheets revived, attributes restored) and reach its
  // tracker; a shape the page layer did not restore would stay silent.
  cases.forEach((c, n) => {
    if (c.inpage === false) return;
    test(`in-page accept: ${c.name}`, { timeout: 60000 }, async () => {
      const context = await chrome.newContext();
      const seen = await watch(context);
      const { trackers } = seen;
      const page = await context.newPage();
      await page.goto(`${base}/case/${n}`, { waitUntil: "load" });
      await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
      await page.waitForTimeout(300);
      assert.deepEqual(trackers, [], `${c.name}: nothing before the choice`);
      await page.click("#consentry-banner [data-consentry-action='accept-all']");
      const deadline = Date.now() + 6000;
      while ((trackers.length === 0 || Date.now() - seen.lastActivity < 400) && Date.now() < deadline) await page.waitForTimeout(100);
      assert.ok(trackers.length > 0, `${c.name}: after "Accept all" in the page, the tracker is reached`);
      await context.close();
    });
  });
});

// Chromium runs no module script in an XML document (crbug.com/717643), so on
// an XHTML page the banner is the server-rendered one working as a plain
// form: it must be there, well-formed, and its "Accept all" must work.
test("XHTML page: the server-rendered banner asks, and Accept all takes effect", { timeout: 60000 }, async () => {
  const n = cases.findIndex((c) => c.xhtml);
  assert.ok(n >= 0, "an XHTML case");
  const context = await chrome.newContext();
  const trackers = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (!isTracker(url)) return route.continue();
    trackers.push(url);
    return route.fulfill({ status: 200, contentType: "text/javascript", body: "" });
  });
  const page = await context.newPage();
  await page.goto(`${base}/case/${n}`, { waitUntil: "load" });
  assert.equal(await page.evaluate(() => document.contentType), "application/xhtml+xml");
  assert.ok(await page.$("#consentry-banner"), "the banner is on the page");
  assert.deepEqual(trackers, [], "nothing before consent");
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("[data-consentry-action=accept-all]")]);
  const cookie = (await context.cookies()).find((c) => c.name === "consentry");
  assert.ok(cookie && cookie.value.includes("analytics"), `consent stored: ${cookie?.value}`);
  assert.equal(await page.$("#consentry-banner"), null, "no banner once answered");
  await page.waitForTimeout(300);
  assert.ok(trackers.length > 0, "the granted tracker loads after the choice");
  await context.close();
});
