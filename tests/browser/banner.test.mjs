// The banner on a plain static site (only a script tag and a policy), in
// headless Chromium: nothing runs before consent, accept activates once,
// withdrawal deletes the cookies, the dialog is accessible.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { staticServer, browser, axe, cookies } from "./harness.mjs";

let server;
let chrome;

before(async () => {
  server = await staticServer();
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

async function open(options = {}) {
  const context = await chrome.newContext(options.context || {});
  if (options.init) await context.addInitScript(options.init);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(server.url + "/", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  return { context, page, errors };
}

test("no text/plain script runs before consent, and the banner is shown", { timeout: 60000 }, async () => {
  const before = server.requests.length;
  const { context, page, errors } = await open();
  assert.equal(await page.isVisible("#consentry-banner"), true);
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined);
  assert.equal(await page.evaluate(() => window.trackerFileRuns), undefined);
  assert.ok(!server.requests.slice(before).includes("/fake-tracker.js"), "the inert external script is not even fetched");
  assert.ok(!server.requests.slice(before).includes("/embed.html"), "the inert embed is not loaded");
  assert.equal((await cookies(context))._ga, undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test("accept all activates each inert script exactly once, without a reload, and survives a reload", { timeout: 60000 }, async () => {
  const { context, page, errors } = await open();
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => window.trackerFileRuns === 1);
  assert.equal(await page.evaluate(() => window.analyticsRuns), 1);
  assert.equal(await page.isVisible("#consentry-banner"), false);
  const c = await cookies(context);
  assert.match(c.consentry, /^v1\.1\.\d+\.advertising~analytics\.[A-Za-z0-9_-]{22}$/);
  assert.ok(c._ga, "the analytics script ran and set _ga");
  assert.equal(await page.getAttribute("iframe[title='Embedded video']", "src"), "/embed.html");
  const state = await page.evaluate(() => window.consentry.get());
  assert.equal(state.categories.analytics, true);
  assert.equal(state.reason, "consented");
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.analyticsRuns === 1);
  assert.equal(await page.isVisible("#consentry-banner"), false);
  assert.equal(await page.isVisible(".consentry-settings"), true, "a persistent settings button");
  assert.deepEqual(errors, []);
  await context.close();
});

test("reject all runs nothing and sets a consent cookie granting nothing", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  await page.click("#consentry-banner [data-consentry-action='reject-all']");
  const c = await cookies(context);
  assert.match(c.consentry, /^v1\.1\.\d+\.\.[A-Za-z0-9_-]{22}$/);
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined);
  assert.equal(c._ga, undefined);
  assert.equal(await page.isVisible(".consentry-placeholder"), true, "a click-to-load placeholder for the embed");
  await context.close();
});

test("withdrawal through the dialog deletes _ga-style cookies; a later load finds none", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => document.cookie.includes("_ga_TEST"));
  await page.click(".consentry-settings");
  await page.waitForSelector("#consentry-preferences[role='dialog']");
  assert.equal(await page.isChecked("#consentry-toggle-analytics"), true);
  await page.uncheck("#consentry-toggle-analytics");
  await page.click("#consentry-preferences [data-consentry-action='save']");
  let c = await cookies(context);
  assert.equal(c._ga, undefined);
  assert.equal(c._ga_TEST, undefined);
  assert.match(c.consentry, /^v1\.1\.\d+\.advertising\./);
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.consentry.get() !== null);
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined);
  c = await cookies(context);
  assert.equal(c._ga, undefined);
  await context.close();
});

test("the dialog traps focus, closes on Escape and gives focus back", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  await page.focus("#consentry-banner [data-consentry-action='preferences']");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#consentry-preferences");
  const inDialog = () => page.evaluate(() => document.getElementById("consentry-preferences").contains(document.activeElement));
  assert.equal(await inDialog(), true, "focus moved into the dialog");
  assert.equal(await page.getAttribute("#consentry-preferences", "aria-modal"), "true");
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    assert.equal(await inDialog(), true, `focus left the dialog after ${i + 1} Tab`);
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Shift+Tab");
    assert.equal(await inDialog(), true, `focus left the dialog after ${i + 1} Shift+Tab`);
  }
  await page.keyboard.press("Escape");
  assert.equal(await page.$("#consentry-preferences"), null);
  const active = await page.evaluate(() => document.activeElement.getAttribute("data-consentry-action"));
  assert.equal(active, "preferences", "focus back on the button that opened it");
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined, "closing is not consent");
  await context.close();
});

test("keyboard only: Tab to the banner and choose with Enter", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  await page.focus("#consentry-banner [data-consentry-action='reject-all']");
  await page.keyboard.press("Enter");
  assert.match((await cookies(context)).consentry, /^v1\.1\.\d+\.\./);
  await context.close();
});

for (const scheme of ["light", "dark"]) {
  test(`axe-core finds no violation on the banner and the dialog (${scheme})`, { timeout: 60000 }, async () => {
    const { context, page } = await open({ context: { colorScheme: scheme } });
    const banner = await axe(page, "#consentry-banner");
    assert.deepEqual(banner, [], JSON.stringify(banner, null, 1));
    await page.click("#consentry-banner [data-consentry-action='preferences']");
    await page.waitForSelector("#consentry-preferences");
    const dialog = await axe(page, "#consentry-preferences");
    assert.deepEqual(dialog, [], JSON.stringify(dialog, null, 1));
    await context.close();
  });
}

test("Global Privacy Control: no banner, nothing runs, the dialog says why", { timeout: 60000 }, async () => {
  const { context, page } = await open({ init: () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }) });
  assert.equal(await page.$("#consentry-banner"), null);
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined);
  const state = await page.evaluate(() => window.consentry.get());
  assert.equal(state.reason, "gpc");
  await page.click(".consentry-settings");
  assert.equal(await page.isVisible("#consentry-preferences .consentry-notice"), true);
  assert.equal(await page.isDisabled("#consentry-toggle-analytics"), true);
  await context.close();
});

test("the JS API: get, set, onChange with unsubscribe, errors for unknown categories", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  const result = await page.evaluate(async () => {
    const seen = [];
    const off = window.consentry.onChange((s) => seen.push(s.categories.analytics));
    await window.consentry.set({ analytics: true });
    off();
    await window.consentry.set({ analytics: false });
    let error = null;
    try {
      await window.consentry.set({ analytic: true });
    } catch (e) {
      error = String(e.message);
    }
    return { seen, error, state: window.consentry.get() };
  });
  assert.deepEqual(result.seen, [true]);
  assert.match(result.error, /unknown category `analytic`/);
  assert.equal(result.state.categories.analytics, false);
  assert.equal(await page.evaluate(() => window.analyticsRuns), 1, "ran once when granted; a script cannot be un-run");
  await page.evaluate(() => window.consentry.reset());
  assert.equal(await page.isVisible("#consentry-banner"), true);
  assert.equal((await cookies(context))._ga, undefined);
  await context.close();
});

test("under a strict CSP (no inline styles, no eval) the banner works and activation keeps the nonce", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  const page = await context.newPage();
  const violations = [];
  await page.exposeFunction("reportViolation", (v) => violations.push(v));
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`)),
  );
  await page.goto(server.url + "/csp.html", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.equal(await page.isVisible("#consentry-banner"), true);
  const position = await page.$eval("#consentry-banner", (b) => getComputedStyle(b).position);
  assert.equal(position, "fixed", "the stylesheet applies");
  await page.click("[data-consentry-action='accept-all']");
  await page.waitForFunction(() => window.trackerFileRuns === 1 && window.analyticsRuns === 1);
  assert.deepEqual(violations, []);
  await context.close();
});
