// Both halves together: the demo server (ConsentLayer over the five seed
// sites, stub trackers that record every hit) and the wasm banner in
// headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { cookies, root, axe, useDemo } from "./harness.mjs";

const SITES = ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"];
const demo = useDemo();

async function visit(site, { dnt = false, gpc = false, js = true } = {}) {
  const headers = {};
  if (dnt) headers.DNT = "1";
  if (gpc) headers["Sec-GPC"] = "1";
  const context = await demo.chrome.newContext({ extraHTTPHeaders: headers, javaScriptEnabled: js });
  if (dnt) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" }));
  if (gpc) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  const page = await context.newPage();
  const trackerRequests = [];
  page.on("request", (r) => r.url().includes("/_trackers/") && trackerRequests.push(new URL(r.url()).pathname));
  await page.goto(`${demo.base}/${site}/`, { waitUntil: "load" });
  if (js) await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  return { context, page, trackerRequests };
}

for (const site of SITES) {
  test(`${site}: no tracker request before consent, with and without JavaScript`, { timeout: 60000 }, async () => {
    for (const js of [true, false]) {
      await demo.reset();
      const { context, page, trackerRequests } = await visit(site, { js });
      await page.waitForTimeout(300);
      assert.deepEqual(trackerRequests, [], `${site} js=${js}`);
      assert.deepEqual(await demo.hits(site), [], `${site} js=${js}: the demo's hit log`);
      const banner = await page.$("#consentry-banner");
      assert.equal(banner !== null, site !== "kisslabs", `${site}: banner shown unless there is nothing to ask`);
      await context.close();
    }
  });
}

test("redis: the server-rendered banner is hydrated, reject sets the cookie and nothing is contacted", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("redis");
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-rendered"), "server");
  assert.equal(await page.getAttribute("#consentry-banner", "data-consentry-hydrated"), "");
  assert.equal(await page.$$eval("#consentry-banner", (b) => b.length), 1, "not drawn twice");
  const post = page.waitForResponse((r) => r.url().endsWith("/redis/consentry/consent"));
  await page.click("[data-consentry-action='reject-all']");
  assert.equal((await post).status(), 200);
  const c = await cookies(context, page);
  assert.match(c.consentry, /^v1\.3\.\d+\.\.[A-Za-z0-9_-]{22}$/);
  const id = c.consentry.split(".").pop();
  const receipt = await page.evaluate(async (id) => (await fetch(`/redis/consentry/receipt/${id}`)).json(), id);
  assert.equal(receipt.id, id, "the cookie the browser keeps is the one whose receipt the server stored");
  assert.equal(receipt.method, "reject-all");
  assert.deepEqual(receipt.granted, ["essential", "account"]);
  await page.reload({ waitUntil: "load" });
  assert.equal(await page.$("#consentry-banner"), null);
  assert.equal(await page.textContent("#tracker-hits"), "No tracker contacted.");
  assert.deepEqual(trackerRequests, []);
  await context.close();
});

test("redis: accept all switches GA, GTM, ads and the video on at once, without a reload", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("redis");
  await page.click("[data-consentry-action='accept-all']");
  await page.waitForFunction(() => window.gtagLoaded && window.gtmLoaded && window.adsLoaded);
  await page.waitForFunction(() => document.querySelector("iframe[title]").getAttribute("src"));
  const paths = new Set(trackerRequests.map((p) => p.split("/").slice(0, 3).join("/")));
  for (const t of ["/_trackers/gtag", "/_trackers/gtm.js", "/_trackers/ads", "/_trackers/video"]) assert.ok(paths.has(t), `${t} in ${[...paths]}`);
  assert.ok((await cookies(context, page))._ga, "GA set its cookie");
  await context.close();
});

test("rackslab with DNT: no banner, Matomo never contacted, even after opening the settings", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("rackslab", { dnt: true });
  assert.equal(await page.$("#consentry-banner"), null);
  assert.equal(await page.textContent("#needs-banner"), "no");
  await page.click("button[data-consentry='preferences']");
  assert.equal(await page.isVisible("#consentry-preferences .consentry-notice"), true);
  assert.deepEqual(trackerRequests, []);
  assert.deepEqual(await demo.hits("rackslab"), []);
  await context.close();
});

test("without JavaScript the banner's form records the choice and comes back", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("alkaes", { js: false });
  await page.click("[data-consentry-action='accept-all']");
  await page.waitForURL(`${demo.base}/alkaes/`);
  assert.match((await cookies(context, page)).consentry, /\.analytics\./);
  assert.equal(await page.$("#consentry-banner"), null);
  assert.equal(await page.$$eval("script[src*='/_trackers/gtag/js']:not([type])", (s) => s.length), 1, "GA is now emitted live");
  await context.close();
  void trackerRequests;
});

for (const scheme of ["light", "dark"]) {
  test(`axe-core: every demo page, with its banner and its dialog, has no violation (${scheme}); screenshots in target/e2e`, { timeout: 120000 }, async () => {
    const shots = path.join(root, "target", "e2e");
    fs.mkdirSync(shots, { recursive: true });
    for (const site of SITES) {
      const context = await demo.chrome.newContext({ colorScheme: scheme, viewport: { width: 1100, height: 800 } });
      const page = await context.newPage();
      await page.goto(`${demo.base}/${site}/`, { waitUntil: "load" });
      await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
      await page.screenshot({ path: path.join(shots, `${site}-${scheme}-banner.png`) });
      const pageViolations = await axe(page, "html");
      assert.deepEqual(pageViolations, [], `${site} ${scheme}: ${JSON.stringify(pageViolations, null, 1)}`);
      await page.click("button[data-consentry='preferences']");
      await page.waitForSelector("#consentry-preferences");
      await page.screenshot({ path: path.join(shots, `${site}-${scheme}-dialog.png`) });
      const dialogViolations = await axe(page, "#consentry-preferences");
      assert.deepEqual(dialogViolations, [], `${site} ${scheme} dialog: ${JSON.stringify(dialogViolations, null, 1)}`);
      await context.close();
    }
  });
}

test("keyboard only on a demo page: Tab reaches the banner, Enter chooses, a second page keeps the choice, the settings button reopens the dialog", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("mailjet");
  let reached = null;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.closest("#consentry-banner") ? document.activeElement.getAttribute("data-consentry-action") : null);
  }
  assert.ok(reached, "Tab reaches the banner's buttons");
  // Move to "reject all" with Tab and choose it with Enter.
  while ((await page.evaluate(() => document.activeElement.getAttribute("data-consentry-action"))) !== "reject-all") {
    await page.keyboard.press("Tab");
  }
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.consentry.get().reason === "consented");
  assert.equal(await page.$("#consentry-banner"), null);
  // A second page of the same site keeps the choice.
  await page.goto(`${demo.base}/mailjet/privacy`, { waitUntil: "load" });
  assert.equal(await page.$("#consentry-banner"), null, "no banner on the second page");
  await page.goto(`${demo.base}/mailjet/`, { waitUntil: "load" });
  await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
  await page.focus("button[data-consentry='preferences']");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#consentry-preferences");
  assert.equal(await page.evaluate(() => document.getElementById("consentry-preferences").contains(document.activeElement)), true);
  await page.keyboard.press("Escape");
  assert.equal(await page.$("#consentry-preferences"), null);
  assert.deepEqual(trackerRequests, []);
  await context.close();
});

test("a server-rendered banner still arriving over the network is not painted half-built, so it never shifts", { timeout: 60000 }, async () => {
  // The demo's page, delivered in two parts cut inside the banner; every
  // other request is passed on to the demo.
  const html = await (await fetch(`${demo.base}/redis/`)).text();
  const cut = html.indexOf('data-consentry-action="reject-all"');
  assert.ok(cut > 0, "the page carries the server-rendered banner");
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const proxy = http.createServer(async (req, res) => {
    if (req.url === "/redis/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.write(html.slice(0, cut));
      await released;
      res.end(html.slice(cut));
      return;
    }
    const up = await fetch(demo.base + req.url, { method: req.method, headers: { cookie: req.headers.cookie ?? "" } });
    res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/octet-stream" });
    res.end(Buffer.from(await up.arrayBuffer()));
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const context = await demo.chrome.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__shifts.push(e.sources.map((s) => `${s.node?.id || s.node?.nodeName}: ${JSON.stringify(s.previousRect)} -> ${JSON.stringify(s.currentRect)}`).join("; ") + ` (${e.value})`);
      }).observe({ type: "layout-shift", buffered: true });
    });
    const loaded = page.goto(`http://127.0.0.1:${proxy.address().port}/redis/`, { waitUntil: "load" });
    await page.waitForSelector("#consentry-banner", { state: "attached" });
    // Let the browser paint what it has.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const partial = await page.$eval("#consentry-banner", (el) => [el.checkVisibility({ visibilityProperty: true }), el.getBoundingClientRect().height]);
    assert.equal(partial[0], false, `half a banner (height ${partial[1]} px) is not painted`);
    release();
    await loaded;
    await page.waitForFunction(() => document.getElementById("consentry-banner")?.checkVisibility({ visibilityProperty: true }));
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.deepEqual(await page.evaluate(() => window.__shifts), [], "no layout shift");
  } finally {
    release();
    await context.close();
    await new Promise((r) => proxy.close(r));
  }
});

// The first layer says what the CNIL (2020 guidelines, 2022 recommendation)
// and the EDPB (guidelines 05/2020) ask, in the page's language: what for
// (the purposes), who (the third parties, by name), that refusing costs
// nothing, and that the choice can be changed or withdrawn at any time, and
// where (the "Cookie settings" button, which must then exist). Expected words
// come from the preset and the language packs, not from the page.
const pack = (lang) => JSON.parse(fs.readFileSync(path.join(root, "crates/consentry-core/lang", `${lang}.json`), "utf8"));
const preset = (site) => JSON.parse(fs.readFileSync(path.join(root, "www/policies", `${site}.json`), "utf8"));
const words = (s) => s.replace(/\s+/g, " ").trim();

for (const site of SITES.filter((s) => s !== "kisslabs")) {
  test(`${site}: the first layer states purposes, third parties, free refusal and withdrawal in the page's language`, { timeout: 60000 }, async () => {
    await demo.reset();
    const { context, page } = await visit(site);
    const lang = await page.getAttribute("html", "lang");
    assert.equal(await page.getAttribute("#consentry-banner", "lang"), lang, "the banner speaks the page's language");
    const p = preset(site);
    const own = (p.texts || {})[lang] || {};
    const t = { ...pack(lang), ...own, categories: { ...pack(lang).categories } };
    for (const [id, c] of Object.entries(own.categories || {})) t.categories[id] = { ...t.categories[id], ...c };
    const text = words(await page.textContent("#consentry-banner"));
    const purposes = p.categories.filter((c) => !c.required).map((c) => t.categories[c.id].title);
    const parties = p.services.map((s) => s.name || s.id);
    assert.ok(purposes.length > 0 && parties.length > 0, `${site}: something to ask about`);
    for (const needed of [t.purposes, ...purposes, t.third_parties, ...parties, t.refuse_notice, t.withdraw_notice]) {
      assert.ok(text.includes(words(needed)), `${site} (${lang}): the first layer lacks "${needed}"\n${text}`);
    }
    assert.ok(t.withdraw_notice.includes(t.settings_link), `${site}: the withdrawal sentence names the settings button`);
    await page.click("#consentry-banner [data-consentry-action='reject-all']");
    assert.equal(words(await page.textContent(".consentry-settings")), words(t.settings_link), "and that button is there");
    await context.close();
  });
}

// The dialog's choices must never sit below the fold: on a phone and on a
// laptop screen the list of categories scrolls, and "Accept all", "Reject
// all", "Save" and "Close" stay in view (a footer that sticks to the
// panel's bottom edge), clickable, wherever the list is scrolled to.
for (const [width, height] of [[390, 844], [1280, 720]]) {
  test(`the dialog's buttons stay in view and clickable at ${width}×${height}, however far its list is scrolled`, { timeout: 60000 }, async () => {
    for (const site of ["redis", "mailjet"]) {
      await demo.reset();
      const context = await demo.chrome.newContext({ viewport: { width, height } });
      const page = await context.newPage();
      await page.goto(`${demo.base}/${site}/`, { waitUntil: "load" });
      await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
      await page.click("#consentry-banner [data-consentry-action='preferences']");
      await page.waitForSelector("#consentry-preferences:not([hidden])");
      const inView = () =>
        page.evaluate(() =>
          [...document.querySelectorAll("#consentry-preferences .consentry-dialog__actions button")].map((b) => {
            const r = b.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return { label: b.textContent, visible: r.top >= 0 && r.bottom <= innerHeight && (hit === b || b.contains(hit)) };
          }),
        );
      const panel = "#consentry-preferences .consentry-dialog__panel";
      for (const where of ["top", "bottom"]) {
        await page.$eval(panel, (p, where) => (p.scrollTop = where === "top" ? 0 : p.scrollHeight), where);
        await page.waitForTimeout(50);
        const buttons = await inView();
        assert.equal(buttons.length, 4, `${site}: four actions`);
        for (const b of buttons) assert.ok(b.visible, `${site} ${width}×${height}, list scrolled to the ${where}: "${b.label}" in view and not covered`);
      }
      // Four actions in at most two rows, even on a phone ("Close" is an icon with a name).
      const rows = await page.$$eval("#consentry-preferences .consentry-dialog__actions button", (bs) => new Set(bs.map((b) => Math.round(b.getBoundingClientRect().top))).size);
      assert.ok(rows <= 2, `${site} ${width}×${height}: the footer takes ${rows} rows`);
      const close = await page.$eval("#consentry-preferences [data-consentry-action='close']", (b) => [b.getAttribute("aria-label"), b.title]);
      assert.ok(close[0] && close[0] === close[1], `${site}: the icon "Close" has a name: ${close}`);
      fs.mkdirSync(path.join(root, "target", "e2e"), { recursive: true });
      await page.screenshot({ path: path.join(root, "target", "e2e", `dialog-${site}-${width}x${height}.png`) });
      if (width === 390) {
        const scrolls = await page.$eval(panel, (p) => p.scrollHeight > p.clientHeight);
        assert.ok(scrolls, `${site}: on a phone the list is longer than the screen (what this test is about)`);
      }
      // With the list scrolled to the top, the footer's "Save" still records the choice.
      await page.$eval(panel, (p) => (p.scrollTop = 0));
      await page.click("#consentry-preferences [data-consentry-action='save']");
      await page.waitForFunction(() => window.consentry.get() && !window.consentry.get().needsBanner);
      await context.close();
    }
  });
}

test("redis: one service of a category from the keyboard: the category shows mixed, only that service runs", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page, trackerRequests } = await visit("redis");
  await page.click("#consentry-banner [data-consentry-action='preferences']");
  await page.waitForSelector("#consentry-preferences");
  const switches = await page.$$eval("#consentry-preferences input[role='switch']", (l) => l.map((i) => i.dataset.service));
  assert.deepEqual(switches, ["ga4", "gtm", "adnetwork", "video"], "a switch per optional service, announced as a switch");
  // Google Analytics on, from the keyboard.
  await page.focus("#consentry-service-ga4");
  await page.keyboard.press("Space");
  assert.equal(await page.locator('role=checkbox[checked="mixed"]').getAttribute("id"), "consentry-toggle-analytics");
  assert.equal(await page.locator('role=switch[checked=true]').getAttribute("data-service"), "ga4");
  assert.deepEqual(await axe(page, "#consentry-preferences"), [], "the mixed state passes axe");
  const post = page.waitForResponse((r) => r.url().endsWith("/redis/consentry/consent"));
  await page.click("#consentry-preferences [data-consentry-action='save']");
  const body = JSON.parse((await post).request().postData());
  assert.deepEqual(body, { granted: ["ga4"] });
  assert.match((await cookies(context, page)).consentry, /^v1\.3\.\d+\.ga4\.[A-Za-z0-9_-]{22}$/);
  await page.waitForFunction(() => window.gtagLoaded);
  await page.waitForTimeout(300);
  assert.ok(trackerRequests.some((p) => p.startsWith("/_trackers/gtag/")), "GA runs");
  assert.ok(!trackerRequests.some((p) => p.startsWith("/_trackers/gtm")), "Tag Manager, same category, does not");
  const s = await page.evaluate(() => window.consentry.get());
  assert.deepEqual([s.categories.analytics, s.services.ga4, s.services.gtm], [false, true, false]);
  // Back in the dialog: GA on, GTM off, the category mixed; its toggle turns them all on.
  await page.click("[data-consentry='preferences']");
  await page.waitForSelector("#consentry-preferences");
  assert.equal(await page.isChecked("#consentry-service-ga4"), true);
  assert.equal(await page.isChecked("#consentry-service-gtm"), false);
  assert.equal(await page.$eval("#consentry-toggle-analytics", (i) => i.indeterminate), true);
  await page.click("#consentry-toggle-analytics");
  assert.equal(await page.isChecked("#consentry-service-gtm"), true);
  assert.equal(await page.$eval("#consentry-toggle-analytics", (i) => i.indeterminate || !i.checked), false);
  const again = page.waitForResponse((r) => r.url().endsWith("/redis/consentry/consent"));
  await page.click("#consentry-preferences [data-consentry-action='save']");
  assert.deepEqual(JSON.parse((await again).request().postData()), { granted: ["analytics"] });
  await page.waitForFunction(() => window.gtmLoaded);
  await context.close();
});

test("rackslab: each service's cookies open as a table (name, provider, purpose, lifetime), keyboard and axe", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page } = await visit("rackslab");
  await page.click("#consentry-banner [data-consentry-action='preferences']");
  await page.waitForSelector("#consentry-preferences");
  const summary = page.locator("#consentry-preferences details.consentry-cookies summary");
  await summary.focus();
  await page.keyboard.press("Enter");
  const rows = await page.$$eval("#consentry-preferences details[open] tbody tr", (trs) =>
    trs.map((tr) => [...tr.children].map((td) => td.textContent)),
  );
  assert.equal(rows.length, 5);
  assert.deepEqual(rows[0], ["_pk_id.*", "Matomo (self-hosted)", "Recognises a returning visitor (a random id, on this site only)", "13 months"]);
  const headings = await page.$$eval("#consentry-preferences details[open] th", (ths) => ths.map((t) => [t.textContent, t.scope]));
  assert.deepEqual(headings, [["Name", "col"], ["Provider", "col"], ["Purpose", "col"], ["Lifetime", "col"]]);
  assert.deepEqual(await axe(page, "#consentry-preferences"), [], "the open table passes axe");
  await context.close();
});

// The receipt POST may fail (a restart, a 503 from a proxy): the visitor's
// choice stands, the page layer tries again, and says what became of it.
test("redis: a consent POST answered 503 is tried again and its receipt stored; a 403 is reported, not retried", { timeout: 60000 }, async () => {
  await demo.reset();
  const { context, page } = await visit("redis");
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  let unavailable = 1;
  await page.route("**/redis/consentry/consent", (route) =>
    unavailable-- > 0 ? route.fulfill({ status: 503, contentType: "text/plain", body: "down for a moment" }) : route.continue(),
  );
  await page.evaluate(() => {
    window.receipts = [];
    document.addEventListener("consentry:receipt", (e) => window.receipts.push(e.detail));
  });
  await page.click("[data-consentry-action='reject-all']");
  assert.match((await cookies(context, page)).consentry, /^v1\.3\.\d+\.\./, "the choice is kept at once");
  await page.waitForFunction(() => window.receipts.length > 0, null, { timeout: 15000 });
  const [outcome] = await page.evaluate(() => window.receipts);
  assert.equal(outcome.stored, true, JSON.stringify(outcome));
  const id = (await cookies(context, page)).consentry.split(".").pop();
  assert.equal(outcome.id, id, "the server's cookie, with the stored receipt's id");
  const receipt = await page.evaluate(async (id) => (await fetch(`/redis/consentry/receipt/${id}`)).json(), id);
  assert.equal(receipt.method, "reject-all");
  assert.deepEqual(warnings, [], "a retried POST that succeeds warns of nothing");
  await context.close();

  const second = await visit("redis");
  const warned = [];
  second.page.on("console", (m) => m.type() === "warning" && warned.push(m.text()));
  let posts = 0;
  await second.page.route("**/redis/consentry/consent", (route) => {
    posts += 1;
    return route.fulfill({ status: 403, contentType: "application/json", body: '{"error":"refused"}' });
  });
  await second.page.evaluate(() => {
    window.receipts = [];
    document.addEventListener("consentry:receipt", (e) => window.receipts.push(e.detail));
  });
  await second.page.click("[data-consentry-action='accept-all']");
  await second.page.waitForFunction(() => window.receipts.length > 0, null, { timeout: 15000 });
  assert.deepEqual(await second.page.evaluate(() => window.receipts), [{ stored: false, status: 403, id: null }]);
  assert.ok(warned.some((w) => w.includes("not stored") && w.includes("403")), warned.join("\n"));
  await second.page.waitForTimeout(2500);
  assert.equal(posts, 1, "a refusal is not retried");
  assert.match((await cookies(second.context)).consentry, /^v1\.3\.\d+\.[a-z~-]+\./, "the choice stands");
  await second.context.close();
});
