// The law of the visitor's place, in Chromium: the demo trusts Cloudflare's
// CF-IPCountry / CF-Region-Code (its region picker plays Cloudflare), and
// redis's preset is opt-out in the US states with opt-out laws, opt-in in
// the EEA and everywhere else. Tracker requests are observed in the
// browser and in the demo's hit log; cookies are read back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { axe, cookies, useDemo } from "./harness.mjs";

const demo = useDemo();
const SOLD = ["/_trackers/ads/", "/_trackers/video/"];

async function visit(place, { gpc = false, js = true, colorScheme = "light" } = {}) {
  const context = await demo.chrome.newContext({
    extraHTTPHeaders: gpc ? { "Sec-GPC": "1" } : {},
    javaScriptEnabled: js,
    colorScheme,
  });
  if (gpc) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  if (place) await context.addCookies([{ name: "demo_region", value: place, url: demo.base }]);
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => r.url().includes("/_trackers/") && requests.push(new URL(r.url()).pathname));
  await page.goto(`${demo.base}/redis/`, { waitUntil: "load" });
  if (js) await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  return { context, page, requests };
}

const contacted = (requests, prefixes) => prefixes.filter((p) => requests.some((r) => r.startsWith(p)));

test("California: a notice with the Do Not Sell link; the trackers run; OK keeps them; the link opts out in one click", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, requests } = await visit("US-CA");
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-model"), "opt-out");
  // redis is a French-language site: its banner speaks French (the fr pack's label).
  assert.match(await page.textContent("#consentry-banner"), /Ne pas vendre ni partager mes informations personnelles/);
  const state = await page.evaluate(() => window.consentry.get());
  assert.deepEqual([state.model, state.region, state.source, state.reason], ["opt-out", "US-CA", "header", "not-opted-out"]);
  await page.waitForFunction(() => window.gtagLoaded && window.adsLoaded);
  assert.deepEqual(contacted(requests, ["/_trackers/gtag/", ...SOLD]), ["/_trackers/gtag/", ...SOLD], "runs until the visitor opts out");

  // OK: the notice goes, everything keeps running, the link stays in view.
  const ok = page.waitForResponse((r) => r.url().endsWith("/redis/consentry/consent"));
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  assert.equal((await ok).status(), 200);
  assert.match((await cookies(context, page)).consentry, /^v2\.3\.\d+\.advertising~analytics~third-party\.[A-Za-z0-9_-]{22}\.o$/);
  assert.equal(await page.$("#consentry-banner"), null);
  const link = page.locator(".consentry-optout [data-consentry-action='opt-out']");
  assert.ok(await link.isVisible(), "the persistent link");
  assert.deepEqual(await axe(page, ".consentry-optout"), [], "the link passes axe");

  // One click (from the keyboard): opted out of sale/sharing, told so.
  const post = page.waitForResponse((r) => r.url().endsWith("/redis/consentry/consent"));
  await link.focus();
  await page.keyboard.press("Enter");
  const body = JSON.parse((await post).request().postData());
  assert.deepEqual(body, { granted: "opt-out" });
  await page.waitForSelector(".consentry-status");
  assert.match(await page.textContent(".consentry-status"), /Demande d’opposition prise en compte/);
  assert.deepEqual(await axe(page, ".consentry-status"), [], "the confirmation passes axe");
  assert.equal(await page.$(".consentry-optout"), null, "nothing left to opt out of");
  const c = await cookies(context, page);
  assert.match(c.consentry, /^v2\.3\.\d+\.analytics\.[A-Za-z0-9_-]{22}\.o$/);
  const receipt = await page.evaluate(async (id) => (await fetch(`/redis/consentry/receipt/${id}`)).json(), c.consentry.split(".")[4]);
  assert.equal(receipt.method, "opt-out");
  assert.deepEqual(receipt.denied, ["advertising", "third-party"]);
  const after = await page.evaluate(() => window.consentry.get());
  assert.deepEqual([after.categories.analytics, after.categories.advertising, after.categories["third-party"]], [true, false, false]);

  // Next page: GA still runs; ads and the video are never contacted again.
  await demo.reset();
  requests.length = 0;
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.gtagLoaded);
  await page.waitForTimeout(300);
  assert.deepEqual(contacted(requests, SOLD), []);
  assert.deepEqual((await demo.hits("redis")).filter((h) => SOLD.some((s) => `/_trackers/${h}`.startsWith(s))), []);
  assert.equal(await page.$("#consentry-banner"), null);
  await context.close();
});

test("California with GPC: opted out at once and told so; GA runs; only the sold categories are locked", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, requests } = await visit("US-CA", { gpc: true });
  assert.equal(await page.$("#consentry-banner"), null, "GPC answered for the visitor");
  assert.match(await page.textContent(".consentry-status"), /Global Privacy Control/);
  assert.equal(await page.$(".consentry-optout"), null);
  await page.waitForFunction(() => window.gtagLoaded);
  await page.waitForTimeout(300);
  assert.deepEqual(contacted(requests, SOLD), [], "never the sold categories");
  assert.deepEqual((await demo.hits("redis")).filter((h) => h.startsWith("ads") || h.startsWith("video")), []);
  const s = await page.evaluate(() => window.consentry.get());
  assert.deepEqual([s.model, s.reason, s.categories.analytics, s.categories.advertising], ["opt-out", "not-opted-out", true, false]);
  await page.click("[data-consentry='preferences']");
  await page.waitForSelector("#consentry-preferences");
  const toggles = await page.$$eval("#consentry-preferences input.consentry-toggle", (inputs) =>
    Object.fromEntries(inputs.map((i) => [i.dataset.category, { checked: i.checked, disabled: i.disabled }])),
  );
  assert.deepEqual(toggles.analytics, { checked: true, disabled: false }, "the visitor may still turn analytics off");
  assert.deepEqual(toggles.advertising, { checked: false, disabled: true });
  assert.deepEqual(toggles["third-party"], { checked: false, disabled: true });
  await context.close();
});

test("California without JavaScript: OK and the Do Not Sell link are forms; the link opts out", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page } = await visit("US-CA", { js: false });
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-model"), "opt-out");
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#consentry-banner [data-consentry-action='accept-all']")]);
  assert.match((await cookies(context, page)).consentry, /^v2\.3\.\d+\.advertising~analytics~third-party\.[A-Za-z0-9_-]{22}\.o$/);
  assert.equal(await page.$("#consentry-banner"), null);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(".consentry-optout button")]);
  assert.equal(new URL(page.url()).pathname, "/redis/");
  assert.match((await cookies(context, page)).consentry, /^v2\.3\.\d+\.analytics\.[A-Za-z0-9_-]{22}\.o$/);
  assert.equal(await page.$(".consentry-optout"), null);
  assert.equal(await page.textContent("#model"), "opt-out");
  await context.close();
});

test("the opt-out notice passes axe in both themes", { timeout: 60000 }, async () => {
  for (const colorScheme of ["light", "dark"]) {
    const { context, page } = await visit("US-CA", { colorScheme });
    assert.deepEqual(await axe(page, "#consentry-banner"), [], `${colorScheme}: banner`);
    await page.click("#consentry-banner [data-consentry-action='accept-all']");
    await page.waitForSelector(".consentry-optout");
    assert.deepEqual(await axe(page, ".consentry-optout"), [], `${colorScheme}: link`);
    await context.close();
  }
});

test("the EEA flow is unchanged: asked first, nothing contacted; the picker sets the region the inspector shows", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, requests } = await visit(null);
  assert.equal(await page.textContent("#model"), "opt-in");
  assert.equal(await page.textContent("#region"), "unknown");
  // The picker, as a visitor would use it.
  await page.selectOption("#demo-region", "FR");
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(".region-picker button")]);
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.deepEqual(
    [await page.textContent("#region"), await page.textContent("#region-source"), await page.textContent("#model")],
    ["FR", "header", "opt-in"],
  );
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-model"), null, "the opt-in banner");
  assert.equal(await page.$(".consentry-optout"), null);
  await page.waitForTimeout(300);
  assert.deepEqual(requests, []);
  assert.deepEqual(await demo.hits("redis"), []);
  const s = await page.evaluate(() => window.consentry.get());
  assert.deepEqual([s.model, s.region, s.needsBanner], ["opt-in", "FR", true]);
  // A cookie written in California is no consent here.
  await context.addCookies([{ name: "demo_region", value: "US-CA", url: demo.base }]);
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => !window.consentry.get().needsBanner);
  await context.addCookies([{ name: "demo_region", value: "FR", url: demo.base }]);
  requests.length = 0;
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-model"), null, "asked again, opt-in");
  await page.waitForTimeout(300);
  assert.deepEqual(contacted(requests, ["/_trackers/gtag/", ...SOLD]), []);
  await context.close();
});
