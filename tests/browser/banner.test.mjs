// The banner on a plain static site (only a script tag and a policy), in
// headless Chromium: nothing runs before consent, accept activates once,
// withdrawal deletes the cookies, the dialog is accessible.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { staticServer, browser, axe, cookies, root } from "./harness.mjs";

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
  assert.equal((await cookies(context, page))._ga, undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test("accept all activates each inert script exactly once, without a reload, and survives a reload", { timeout: 60000 }, async () => {
  const { context, page, errors } = await open();
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => window.trackerFileRuns === 1);
  assert.equal(await page.evaluate(() => window.analyticsRuns), 1);
  assert.equal(await page.isVisible("#consentry-banner"), false);
  const c = await cookies(context, page);
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
  const c = await cookies(context, page);
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
  let c = await cookies(context, page);
  assert.equal(c._ga, undefined);
  assert.equal(c._ga_TEST, undefined);
  assert.match(c.consentry, /^v1\.1\.\d+\.advertising\./);
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => window.consentry.get() !== null);
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined);
  c = await cookies(context, page);
  assert.equal(c._ga, undefined);
  await context.close();
});

test("an embed marked only with its service gets the click-to-load notice of the service's category", { timeout: 60000 }, async () => {
  // Added before the banner starts (it waits for DOMContentLoaded): one frame
  // of a declared service, one of a service the policy does not declare
  // (in the page only: init scripts also run in every frame).
  const init = () =>
    window === window.top &&
    document.addEventListener("DOMContentLoaded", () => {
      for (const service of ["video", "constructor"]) {
        const frame = document.createElement("iframe");
        frame.setAttribute("data-src", `/embed.html?${service}`);
        frame.setAttribute("data-service", service);
        frame.title = `Only ${service}`;
        document.body.append(frame);
      }
    });
  const { context, page, errors } = await open({ init });
  const notices = await page.evaluate(() =>
    [...document.querySelectorAll("iframe[data-service]")].map((f) => {
      const p = f.previousElementSibling;
      return p && p.hasAttribute("data-consentry-placeholder") ? p.getAttribute("data-consentry-placeholder") : null;
    }),
  );
  assert.deepEqual(notices, ["advertising", null], "video is gated by advertising; an undeclared service offers nothing");
  // (Under the banner, which the frames follow at the end of the page.)
  await page.evaluate(() =>
    document.querySelector("iframe[title='Only video']").previousElementSibling.querySelector("[data-consentry-load]").click(),
  );
  await page.waitForFunction(() => document.querySelector("iframe[title='Only video']").getAttribute("src") === "/embed.html?video");
  assert.equal((await page.evaluate(() => window.consentry.get())).categories.advertising, true);
  assert.equal(await page.getAttribute("iframe[title='Only constructor']", "src"), null, "nothing allows an undeclared service");
  assert.deepEqual(errors, []);
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
  assert.match((await cookies(context, page)).consentry, /^v1\.1\.\d+\.\./);
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
    const refused = async (choice) => {
      try {
        await window.consentry.set(choice);
        return null;
      } catch (e) {
        return String(e.message);
      }
    };
    const error = await refused({ analytic: true });
    // An Object method's name is no id of the policy.
    const prototypeKey = await refused(JSON.parse('{"constructor": true}'));
    const service = await refused({ ga4: false });
    return { seen, error, prototypeKey, service, state: window.consentry.get() };
  });
  assert.deepEqual(result.seen, [true]);
  assert.match(result.prototypeKey ?? "", /unknown category or service `constructor`/);
  assert.equal(result.service, null, "a service may be named on its own");
  // Core's words (consentry_core::UnknownId), as the consent endpoint answers them.
  assert.equal(
    result.error,
    "consentry: unknown category or service `analytic` (categories: essential, analytics, advertising; services: ga4, video)",
  );
  assert.equal(result.state.categories.analytics, false);
  assert.equal(await page.evaluate(() => window.analyticsRuns), 1, "ran once when granted; a script cannot be un-run");
  await page.evaluate(() => window.consentry.reset());
  assert.equal(await page.isVisible("#consentry-banner"), true);
  assert.equal((await cookies(context, page))._ga, undefined);
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

// The README's snippet: a ready policy built by `npx consentry-policy build`,
// with preload hints for the wasm and the policy.
function readySite(context, { mutate = (p) => p, source = (p) => p } = {}) {
  const fixtures = path.join(root, "tests", "browser", "fixtures");
  const out = fs.mkdtempSync(path.join(root, "target", "ready-"));
  const policy = path.join(out, "policy.json");
  fs.writeFileSync(policy, JSON.stringify(source(JSON.parse(fs.readFileSync(path.join(fixtures, "policy.json"), "utf8")))));
  execFileSync("node", [path.join(root, "www", "bin", "consentry-policy.mjs"), "build", policy, "--out", out]);
  const ready = JSON.stringify(mutate(JSON.parse(fs.readFileSync(path.join(out, "policy.ready.json"), "utf8"))));
  fs.rmSync(out, { recursive: true, force: true });
  const html = fs
    .readFileSync(path.join(fixtures, "static.html"), "utf8")
    .replace(
      '<script type="module" src="/consentry/consentry.js" data-policy="/policy.json"></script>',
      '<link rel="preload" as="fetch" crossorigin href="/consentry/consentry_wasm_bg.wasm">\n' +
        '<link rel="preload" as="fetch" crossorigin href="/policy.ready.json">\n' +
        '<script type="module" src="/consentry/consentry.js" data-policy="/policy.ready.json"></script>',
    );
  return Promise.all([
    context.route("**/ready.html", (r) => r.fulfill({ contentType: "text/html", body: html })),
    context.route("**/policy.ready.json", (r) => r.fulfill({ contentType: "application/json", body: ready })),
  ]);
}

test("a ready policy starts the banner without the policy builder, and the preload hints are used", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  await readySite(context);
  const page = await context.newPage();
  const errors = [];
  const warnings = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => (m.type() === "error" ? errors : warnings).push(m.text()));
  const before = server.requests.length;
  await page.goto(server.url + "/ready.html", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.equal(await page.isVisible("#consentry-banner"), true);
  const fetched = server.requests.slice(before);
  assert.ok(!fetched.some((p) => p.includes("consentry_policy")), `no policy builder: ${fetched}`);
  assert.equal(fetched.filter((p) => p.endsWith("consentry_wasm_bg.wasm")).length, 1, "the preloaded wasm is reused, not fetched twice");
  assert.ok(!warnings.some((w) => /preload.*not used/i.test(w)), warnings.join("\n"));
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  await page.waitForFunction(() => window.analyticsRuns === 1);
  assert.match((await cookies(context, page)).consentry, /^v1\.1\.\d+\.advertising~analytics\./);
  assert.deepEqual(errors, []);
  await context.close();
});

// The wasm held back until the test lets it go: what a slow network shows.
async function holdWasm(context) {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const seen = [];
  await context.route("**/consentry_wasm_bg.wasm", async (route) => {
    seen.push(route.request().url());
    await gate;
    await route.continue();
  });
  return { release, seen };
}

test("the first layer shows before the wasm arrives, and a click on it meanwhile is honoured once it does", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  await readySite(context);
  const wasm = await holdWasm(context);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(server.url + "/ready.html", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#consentry-banner", { state: "visible" });
  assert.ok(wasm.seen.length >= 1, "the wasm was requested and is still held");
  assert.equal(await page.evaluate(() => window.consentry.get()), null, "the rules module has not started");
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-hydrated"), null);
  await page.click("#consentry-banner [data-consentry-action='accept-all']");
  assert.equal((await cookies(context, page)).consentry, undefined, "no cookie before the rules module decides");
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined, "nothing runs before it either");
  wasm.release();
  await page.waitForFunction(() => window.analyticsRuns === 1);
  assert.match((await cookies(context, page)).consentry, /^v1\.1\.\d+\.advertising~analytics\./);
  assert.equal(await page.isVisible("#consentry-banner"), false);
  assert.equal(page.url(), server.url + "/ready.html", "the banner's form was not submitted");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a wasm that cannot be loaded: one message naming it and the status, no dead banner, and a later init() tries again", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  await readySite(context);
  let requests = 0;
  await context.route("**/consentry_wasm_bg.wasm", (route) => {
    requests += 1;
    return requests === 1 ? route.fulfill({ status: 503, body: "busy" }) : route.continue();
  });
  const page = await context.newPage();
  const errors = [];
  const failed = new Promise((resolve) =>
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      errors.push(m.text());
      if (m.text().includes("consentry:")) resolve();
    }),
  );
  await page.goto(server.url + "/ready.html", { waitUntil: "load" });
  await failed;
  // (Chromium logs the failed request itself as well.)
  const ours = errors.filter((e) => e.includes("consentry"));
  assert.equal(ours.length, 1, String(errors));
  assert.match(ours[0], /consentry: cannot load http:\/\/127\.0\.0\.1:\d+\/consentry\/consentry_wasm_bg\.wasm: HTTP 503/);
  assert.equal(await page.isVisible("#consentry-banner"), false, "an early banner that no rules module answers is removed");
  assert.equal(await page.evaluate(() => window.analyticsRuns), undefined, "nothing runs");
  const state = await page.evaluate(() => window.consentry.init().then((s) => s.reason));
  assert.equal(state, "no-consent", "the second init() loaded the wasm");
  assert.equal(await page.isVisible("#consentry-banner"), true);
  await context.close();
});

test("no early banner for a returning visitor or a privacy signal: the rules module decides", { timeout: 60000 }, async () => {
  for (const setup of [
    async (context) => context.addCookies([{ name: "consentry", value: "v1.1.1700000000..AAAAAAAAAAAAAAAAAAAAAA", url: server.url }]),
    async (context) => context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })),
  ]) {
    const context = await chrome.newContext();
    await readySite(context);
    await setup(context);
    const wasm = await holdWasm(context);
    const page = await context.newPage();
    await page.goto(server.url + "/ready.html", { waitUntil: "load" });
    await page.waitForTimeout(300);
    assert.ok(wasm.seen.length >= 1);
    assert.equal(await page.$("#consentry-banner"), null, "nothing shown while the rules module is held");
    wasm.release();
    await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
    const state = await page.evaluate(() => window.consentry.get());
    assert.equal(await page.isVisible("#consentry-banner"), state.needsBanner);
    await context.close();
  }
});

test("a ready policy of another version is refused with one message naming the fix, and nothing runs", { timeout: 60000 }, async () => {
  for (const [mutate, expected] of [
    [(p) => ({ ...p, format: "consentry-ready/9" }), /another version.*consentry policy build/],
    [(p) => ({ ...p, rules: p.rules.replace("category\tanalytics", "category\tAnalytics") }), /malformed.*consentry policy build/],
  ]) {
    const context = await chrome.newContext();
    await readySite(context, { mutate });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(server.url + "/ready.html", { waitUntil: "load" });
    await page.waitForTimeout(500);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0], expected);
    assert.equal(await page.$("#consentry-banner"), null, "no banner");
    assert.equal(await page.evaluate(() => window.analyticsRuns), undefined, "nothing granted");
    assert.equal(await page.evaluate(() => window.consentry.get()), null);
    await context.close();
  }
});

// A static site has no server to say where the visitor is: the ready policy
// maps time zones to models (the strictest of each zone's country), an
// approximation the banner applies and reports as such.
test("a static site guesses the model from the time zone: opt-in in Paris, a notice in Tokyo, nothing in São Paulo", { timeout: 60000 }, async () => {
  const source = (p) => ({
    ...p,
    regions: {
      rules: [
        { where: ["EEA", "UK", "CH"], model: "opt-in" },
        { where: ["JP"], model: "notice" },
      ],
      default: "none",
    },
  });
  const cases = [
    ["Europe/Paris", "opt-in", "time-zone", true, undefined],
    ["Asia/Tokyo", "notice", "time-zone", true, 1],
    ["America/Sao_Paulo", "none", "unknown", false, 1],
  ];
  for (const [timezoneId, model, source_, banner, analyticsRuns] of cases) {
    const context = await chrome.newContext({ timezoneId });
    await readySite(context, { source });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(server.url + "/ready.html", { waitUntil: "load" });
    await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
    const s = await page.evaluate(() => window.consentry.get());
    assert.deepEqual([s.model, s.source, s.region], [model, source_, null], timezoneId);
    assert.equal(await page.isVisible("#consentry-banner"), banner, `${timezoneId}: banner`);
    if (banner) {
      const shown = await page.getAttribute("#consentry-banner", "data-consentry-model");
      assert.equal(shown, model === "opt-in" ? null : model, `${timezoneId}: that model's first layer`);
    }
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.analyticsRuns), analyticsRuns, `${timezoneId}: analytics`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("the JS API: allows and allowsService mirror the rules, onChange can start at once, every action returns a Promise", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  const result = await page.evaluate(async () => {
    const c = window.consentry;
    const seen = [];
    const off = c.onChange((s) => seen.push(s.categories.analytics), { immediate: true });
    const before = [c.allows("analytics"), c.allowsService("ga4"), c.allows("essential"), c.allows("nope")];
    const returned = c.set({ ga4: true });
    const isPromise = returned instanceof Promise;
    await returned;
    const single = [c.allows("analytics"), c.allowsService("ga4")];
    const shown = c.hide();
    await shown;
    off();
    // Marked by script, so the attribute can hold a NUL (the HTML parser
    // would have replaced it): it names no category, so it never runs.
    for (const [category, flag] of [["analytics\0", "nulRan"], ["analytics", "plainRan"]]) {
      const el = document.createElement("script");
      el.type = "text/plain";
      el.setAttribute("data-category", category);
      el.textContent = `window.${flag} = true;`;
      document.body.append(el);
    }
    await c.acceptAll();
    await new Promise((r) => setTimeout(r, 100));
    const ran = [window.nulRan === true, window.plainRan === true];
    return { seen, before, isPromise, single, hidePromise: shown instanceof Promise, after: c.allows("analytics"), ran };
  });
  assert.deepEqual(result.ran, [false, true], "a category with a NUL in it is no category");
  assert.deepEqual(result.before, [false, false, true, false]);
  assert.equal(result.isPromise, true);
  assert.equal(result.hidePromise, true);
  assert.deepEqual(result.single, [false, true], "Google Analytics alone");
  assert.deepEqual(result.seen, [false, false], "at once, then after set(); not after unsubscribing");
  assert.equal(result.after, true);
  await context.close();
});

test("the page's own buttons speak the banner's vocabulary: choices inside init({ actionsIn }), preferences anywhere, data-consentry its older name", { timeout: 60000 }, async () => {
  const { context, page } = await open();
  await page.evaluate(() => {
    document.body.insertAdjacentHTML(
      "afterbegin",
      '<button id="stray-accept" data-consentry-action="accept-all">Yes</button>' +
        '<div id="mine"><button id="mine-reject" data-consentry-action="reject-all">No thanks</button></div>' +
        '<a href="#" id="mine-settings" data-consentry="preferences">Settings</a>',
    );
    return window.consentry.init({ actionsIn: "#mine" });
  });
  await page.click("#stray-accept");
  await page.waitForTimeout(200);
  assert.equal((await cookies(context, page)).consentry, undefined, "a choice from outside the site's containers records nothing");
  await page.click("#mine-reject");
  await page.waitForFunction(() => !window.consentry.get().needsBanner);
  assert.match((await cookies(context, page)).consentry, /^v1\.1\.\d+\.\.[A-Za-z0-9_-]{22}$/, "rejected from the page's own button");
  await page.click("#mine-settings");
  await page.waitForSelector("#consentry-preferences");
  assert.equal(new URL(page.url()).hash, "", "the link's default action is prevented");
  await context.close();
});

// A site that shows its visitors' HTML (comments, a forum) through a
// sanitiser that keeps data-*: what they post may neither activate a URL of
// another scheme than http(s), nor markup or CSS, nor record a choice.
test("user-posted HTML can neither activate javascript:, data: or srcdoc, nor record consent", { timeout: 60000 }, async () => {
  const context = await chrome.newContext();
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => dialogs.push(d.message()) && d.dismiss());
  await page.goto(server.url + "/comments.html", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  await page.waitForTimeout(300);
  const state = await page.evaluate(() => ({
    pwned: window.pwned ?? null,
    jsHref: document.getElementById("js-link").getAttribute("href"),
    tabHref: document.getElementById("js-link-tabbed").getAttribute("href"),
    jsSrc: document.getElementById("js-frame").getAttribute("src"),
    dataSrc: document.getElementById("data-frame").getAttribute("src"),
    srcdoc: document.getElementById("doc-frame").getAttribute("srcdoc"),
    style: document.getElementById("style-div").getAttribute("style"),
    okHref: document.getElementById("ok-link").getAttribute("href"),
  }));
  assert.deepEqual(state, {
    pwned: null,
    jsHref: null,
    tabHref: null,
    jsSrc: null,
    dataSrc: null,
    srcdoc: null,
    style: null,
    okHref: "/page.html",
  });
  // An invisible element over the whole page marked accept-all: a click
  // anywhere lands on it, and records nothing.
  await page.mouse.click(20, 20);
  await page.waitForTimeout(300);
  assert.equal((await cookies(context, page)).consentry, undefined, "the overlay recorded no choice");
  await page.evaluate(() => document.getElementById("overlay").remove());
  // A copy of the banner's markup, with a guessed token, and a fake
  // click-to-load notice: neither records anything.
  await page.evaluate(() => document.getElementById("fake-accept").click());
  await page.evaluate(() => document.getElementById("fake-load-button").click());
  await page.waitForTimeout(300);
  assert.equal((await cookies(context, page)).consentry, undefined, "the fake banner and notice recorded no choice");
  assert.equal(await page.evaluate(() => window.consentry.get().needsBanner), true);
  // The site's own button, in the container the script tag names, works.
  await page.evaluate(() => document.getElementById("site-reject").click());
  await page.waitForFunction(() => !window.consentry.get().needsBanner);
  assert.match((await cookies(context, page)).consentry, /^v1\.1\.\d+\.\.[A-Za-z0-9_-]{22}$/);
  assert.equal(await page.evaluate(() => window.pwned ?? null), null);
  assert.deepEqual(dialogs, []);
  await context.close();
});

// Right to left: the banner and the dialog carry dir="rtl" from core's one
// rule (texts::is_rtl, written by the renderer) on a left-to-right page,
// and the stylesheet's logical properties mirror them; axe in both themes.
for (const locale of ["ar", "he"]) {
  for (const colorScheme of ["light", "dark"]) {
    test(`right to left (${locale}, ${colorScheme}): banner and dialog mirrored, no axe violation`, { timeout: 60000 }, async () => {
      const context = await chrome.newContext({ locale, colorScheme, viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(server.url + "/visitor-language.html", { waitUntil: "load" });
      await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
      const banner = await page.$eval("#consentry-banner", (el) => ({
        lang: el.lang,
        dir: el.getAttribute("dir"),
        direction: getComputedStyle(el).direction,
        page: getComputedStyle(document.body).direction,
      }));
      assert.deepEqual(banner, { lang: locale, dir: "rtl", direction: "rtl", page: "ltr" });
      fs.mkdirSync(path.join(root, "target", "e2e"), { recursive: true });
      await page.screenshot({ path: path.join(root, "target", "e2e", `rtl-${locale}-${colorScheme}-banner.png`) });
      assert.deepEqual(await axe(page, "#consentry-banner"), [], "banner");

      await page.click("#consentry-banner [data-consentry-action='preferences']");
      await page.waitForSelector("#consentry-preferences", { state: "visible" });
      const dialog = await page.$eval("#consentry-preferences", (el) => {
        const list = el.querySelector(".consentry-services");
        const s = list && getComputedStyle(list);
        return {
          dir: el.getAttribute("dir"),
          direction: getComputedStyle(el).direction,
          // The services' rule is drawn on the inline-start side: the right.
          border: s && [s.borderRightWidth, s.borderLeftWidth],
        };
      });
      assert.deepEqual(dialog, { dir: "rtl", direction: "rtl", border: ["2px", "0px"] });
      await page.screenshot({ path: path.join(root, "target", "e2e", `rtl-${locale}-${colorScheme}-dialog.png`) });
      assert.deepEqual(await axe(page, "#consentry-preferences"), [], "dialog");
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
}

test("a left-to-right language gets no dir attribute", { timeout: 60000 }, async () => {
  const context = await chrome.newContext({ locale: "fr" });
  const page = await context.newPage();
  await page.goto(server.url + "/visitor-language.html", { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  assert.deepEqual(await page.$eval("#consentry-banner", (el) => [el.lang, el.getAttribute("dir")]), ["fr", null]);
  await context.close();
});

// A compact first layer: on a 390×844 phone all it must say (purposes, third
// parties, that refusing has no consequence, how to withdraw) and its three
// equal choices fit in half the screen, in the languages whose texts run
// longest; screenshots at both sizes in target/e2e.
for (const locale of ["en", "fr", "de", "fi", "hu"]) {
  test(`the first layer takes at most half of a 390×844 phone, choices of equal size (${locale})`, { timeout: 60000 }, async () => {
    for (const [width, height] of [[390, 844], [1280, 720]]) {
      const context = await chrome.newContext({ locale, viewport: { width, height } });
      const page = await context.newPage();
      await page.goto(server.url + "/visitor-language.html", { waitUntil: "load" });
      await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
      const banner = await page.$eval("#consentry-banner", (el) => ({
        lang: el.lang,
        height: Math.round(el.getBoundingClientRect().height),
        lists: [...el.querySelectorAll("[data-consentry-list]")].map((l) => l.dataset.consentryList),
        buttons: [...el.querySelectorAll(".consentry-banner__actions .consentry-btn")].map((b) => {
          const r = b.getBoundingClientRect();
          return `${Math.round(r.width)}×${Math.round(r.height)}`;
        }),
      }));
      assert.equal(banner.lang, locale);
      assert.deepEqual(banner.lists, ["purposes", "third-parties"], "the required elements stay on the first layer");
      assert.equal(banner.buttons.length, 3);
      if (width === 390) {
        assert.ok(banner.height <= height / 2, `${locale}: the first layer is ${banner.height} px of ${height}`);
        assert.equal(new Set(banner.buttons).size, 1, `${locale}: the choices differ in size: ${banner.buttons}`);
      }
      fs.mkdirSync(path.join(root, "target", "e2e"), { recursive: true });
      await page.screenshot({ path: path.join(root, "target", "e2e", `first-layer-${locale}-${width}x${height}.png`) });
      await context.close();
    }
  });
}
