// One row of the decision matrix of docs/demo-sites.md, run in a real browser
// against a server that gates the five demo sites: a site × one signal (none,
// DNT, GPC) through every scenario (first visit, accept all, reject all,
// analytics only, withdraw after accept, consent from an older revision).
// Checked: which trackers were requested (browser network and the demo's hit
// log), whether the banner shows, which cookies exist, and that a reload
// keeps the choice. matrix.test.mjs runs it against the demo's own layer,
// serve.test.mjs against `consentry serve` in front of the bare demo.
import assert from "node:assert/strict";
import { cookies } from "./harness.mjs";

// What each demo page carries, by category, and what each preset honours.
export const SITES = {
  rackslab: { revision: 1, dnt: true, gpc: true, trackers: { analytics: ["/_trackers/matomo/"] }, cookie: "_pk_id.1.1fff" },
  redis: {
    revision: 3,
    dnt: false,
    gpc: true,
    trackers: { analytics: ["/_trackers/gtag/", "/_trackers/gtm.js"], advertising: ["/_trackers/ads/"], "third-party": ["/_trackers/video/"] },
    cookie: "_ga",
  },
  mailjet: {
    revision: 2,
    dnt: true,
    gpc: true,
    trackers: {
      analytics: ["/_trackers/gtag/", "/_trackers/segment/"],
      experiments: ["/_trackers/optimizely/", "/_trackers/vwo/"],
      functional: ["/_trackers/drift/"],
    },
    cookie: "_ga",
  },
  alkaes: { revision: 1, dnt: true, gpc: true, trackers: { analytics: ["/_trackers/gtag/"] }, cookie: "_ga" },
  kisslabs: { revision: 1, dnt: true, gpc: true, trackers: {}, cookie: null },
};
export const SIGNALS = ["none", "dnt", "gpc"];
const SCENARIOS = ["first visit", "accept all", "reject all", "analytics only", "withdraw after accept", "older revision"];

/** The trackers a page may contact once `granted` categories are in force under `signal`. */
function expectedTrackers(site, signal, granted) {
  const s = SITES[site];
  const honoured = (signal === "dnt" && s.dnt) || (signal === "gpc" && s.gpc);
  if (honoured) return [];
  return granted.flatMap((c) => s.trackers[c] || []);
}

function needsBanner(site, signal) {
  const s = SITES[site];
  const optional = Object.keys(s.trackers).length > 0 || site === "redis";
  const honoured = (signal === "dnt" && s.dnt) || (signal === "gpc" && s.gpc);
  return optional && !honoured;
}

/** Whether one of `trackers` sets the site's tracker cookie (gtag sets `_ga`, Matomo `_pk_id`). */
function setsCookie(site, trackers) {
  const { cookie } = SITES[site];
  return Boolean(cookie) && trackers.some((t) => t.includes(cookie === "_ga" ? "gtag" : "matomo"));
}

function sameSet(actual, expected, msg) {
  const norm = (list) => [...new Set(list)].sort();
  assert.deepEqual(norm(actual), norm(expected), msg);
}

/** Tracker prefixes (as in SITES) that the requested paths fall under. */
function contacted(site, paths) {
  const all = Object.values(SITES[site].trackers).flat();
  return all.filter((prefix) => paths.some((p) => p.startsWith(prefix)));
}

async function hitLog(env, site) {
  return (await env.hits(site)).map((p) => "/_trackers/" + p);
}

async function open(env, context, site) {
  const page = await context.newPage();
  const seen = [];
  page.pending = 0;
  page.on("request", (r) => {
    if (!r.url().includes("/_trackers/")) return;
    seen.push(new URL(r.url()).pathname);
    page.pending += 1;
  });
  const finished = (r) => r.url().includes("/_trackers/") && (page.pending -= 1);
  page.on("requestfinished", finished);
  page.on("requestfailed", finished);
  await page.goto(`${env.base}/${site}/`, { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  return { page, seen };
}

/** Waits until no tracker request is in flight and none started for 250 ms. */
async function settle(page) {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const started = page.pending;
    await page.waitForTimeout(250);
    const count = await page.evaluate(() => performance.getEntriesByType("resource").length);
    if (page.pending === 0 && started === 0 && count === last) return;
    last = count;
  }
  throw new Error("tracker requests did not settle");
}

/**
 * Runs the row of `site` under `signal` against `env`: `base` (where the
 * site is served, as `${base}/${site}/`), `chrome`, `hits(site)` and `reset(site)`
 * (the demo's tracker log, as in harness.mjs's useDemo).
 */
export async function runRow(env, site, signal) {
  const s = SITES[site];
  const optional = Object.keys(s.trackers);
  for (const scenario of SCENARIOS) {
    if (scenario === "analytics only" && !s.trackers.analytics) continue;
    const label = `${site} / ${signal} / ${scenario}`;
    await env.reset(site);
    const headers = signal === "dnt" ? { DNT: "1" } : signal === "gpc" ? { "Sec-GPC": "1" } : {};
    const context = await env.chrome.newContext({ extraHTTPHeaders: headers });
    if (signal === "dnt") await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" }));
    if (signal === "gpc") await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
    if (scenario === "older revision") {
      const now = Math.floor(Date.now() / 1000);
      await context.addCookies([
        { name: "consentry", value: `v1.${s.revision + 1}.${now}.${optional.join("~")}.AAAAAAAAAAAAAAAAAAAAAA`, url: `${env.base}/${site}/` },
      ]);
    }
    let { page, seen } = await open(env, context, site);
    await settle(page);
    // Nothing before consent, whatever the signal.
    assert.deepEqual(contacted(site, seen), [], `${label}: trackers before any choice`);
    assert.equal((await page.$("#consentry-banner")) !== null, needsBanner(site, signal), `${label}: banner`);

    let granted = [];
    if (scenario === "accept all" || scenario === "withdraw after accept") {
      await page.evaluate(() => window.consentry.acceptAll());
      granted = optional;
    } else if (scenario === "reject all") {
      await page.evaluate(() => window.consentry.rejectAll());
    } else if (scenario === "analytics only") {
      await page.evaluate(() => window.consentry.set({ analytics: true }));
      granted = ["analytics"];
    }
    await settle(page);
    const expected = expectedTrackers(site, signal, granted);
    sameSet(contacted(site, seen), expected, `${label}: trackers after the choice (browser)`);
    sameSet(contacted(site, await hitLog(env, site)), expected, `${label}: trackers after the choice (hit log)`);
    if (scenario !== "first visit" && scenario !== "older revision") {
      assert.equal(await page.$("#consentry-banner"), null, `${label}: banner gone after the choice`);
    }

    if (scenario === "withdraw after accept") {
      // Withdraw once the granted tracker has run (set its cookie): the
      // network going quiet does not mean its script has executed yet.
      if (setsCookie(site, expected)) {
        await page.waitForFunction((name) => document.cookie.split("; ").some((c) => c.startsWith(name + "=")), s.cookie, { timeout: 20000 });
      }
      await page.evaluate(() => window.consentry.rejectAll());
      granted = [];
      if (s.cookie) {
        // Gone at once from the page's view of its cookies, and from the
        // browser's store (what a reload sends) once it has the page's write.
        const inPage = await page.evaluate((name) => document.cookie.split("; ").some((c) => c.startsWith(name + "=")), s.cookie);
        assert.equal(inPage, false, `${label}: ${s.cookie} deleted at once`);
        assert.equal((await cookies(context, page))[s.cookie], undefined, `${label}: ${s.cookie} deleted from the browser's store`);
      }
    }

    // A reload keeps the choice: the server emits exactly what is granted.
    await page.close();
    await env.reset(site);
    ({ page, seen } = await open(env, context, site));
    await settle(page);
    const afterReload = scenario === "first visit" || scenario === "older revision" ? [] : expectedTrackers(site, signal, granted);
    sameSet(contacted(site, seen), afterReload, `${label}: trackers after a reload`);
    const c = await cookies(context, page);
    if (s.cookie && afterReload.length === 0) assert.equal(c[s.cookie], undefined, `${label}: no ${s.cookie} cookie`);
    if (setsCookie(site, afterReload)) {
      assert.ok(c[s.cookie], `${label}: ${s.cookie} set by the granted tracker`);
    }
    await context.close();
  }
}
