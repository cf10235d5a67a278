// The demo's five sites served bare (`consentry-demo --no-layer`: every tag
// live, no banner, no consent routes), each behind its own `consentry serve
// --upstream` with the site's policy from www/policies/. In headless
// Chromium they must pass the same tracker, banner and consent checks as
// with the demo's built-in layer: nothing contacted before consent with or
// without JavaScript, the server-rendered banner, the receipt stored by the
// proxy, and the decision matrix's rows (matrix-row.mjs): every site without a
// signal, and DNT and GPC each through two sites that honour them.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PARALLEL, browser, cookies, root, spawnListening, startDemo, trackerLog } from "./harness.mjs";
import { SITES, runRow } from "./matrix-row.mjs";

let demo;
let chrome;
let tmp;
const proxies = [];
/** One `runRow` environment per site: its proxy's URL, the bare demo's tracker log. */
const envs = {};

before(async () => {
  demo = await startDemo(["--no-layer"]);
  const bin = process.env.CONSENTRY_CLI_BIN || path.join(root, "target", "debug", "consentry");
  if (!fs.existsSync(bin)) throw new Error(`build it first (cargo build -p consentry-cli): ${bin}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-serve-demo-"));
  chrome = await browser();
  for (const site of Object.keys(SITES)) {
    const args = [
      "serve",
      "--policy",
      path.join(root, "www", "policies", `${site}.json`),
      "--upstream",
      demo.base,
      "--addr",
      "127.0.0.1:0",
      "--assets",
      path.join(root, "www", "dist"),
      "--db",
      path.join(tmp, `${site}.db`),
    ];
    const { child, url } = await spawnListening(bin, args, `consentry serve (${site})`, { stderr: "ignore" });
    proxies.push(child);
    envs[site] = { base: url, chrome, ...trackerLog(() => demo.base) };
  }
});

after(async () => {
  await chrome?.close();
  for (const p of proxies) p.kill();
  demo?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("the bare demo really is bare: its pages carry live trackers and no banner", async () => {
  const html = await (await fetch(`${demo.base}/redis/`)).text();
  assert.match(html, /<script async src="\/_trackers\/gtag\/js\?id=G-R3D1S0001"><\/script>/);
  assert.doesNotMatch(html, /consentry-banner|data-category/);
});

// The rows run behind the proxy: every site without a signal, and each
// signal (DNT, GPC) through it on two sites that honour it — what the proxy
// adds is forwarding the request (signals included) and streaming the page;
// every site × signal of the decision rules is matrix.test.mjs's, against
// both adapters.
const BEHIND_PROXY = {
  rackslab: ["none", "dnt"],
  redis: ["none", "gpc"],
  mailjet: ["none", "dnt"],
  alkaes: ["none", "gpc"],
  kisslabs: ["none"],
};

// Sites side by side, each behind its own proxy with its own tracker log;
// one site's tests in turn. All five sites at once, as in matrix.test.mjs
// (one at a time with CONSENTRY_BROWSER_PARALLEL=1).
const sites = PARALLEL > 1 ? Math.max(PARALLEL, Object.keys(SITES).length) : 1;
describe("the five sites behind consentry serve", { concurrency: sites }, () => {
  for (const site of Object.keys(SITES)) {
    describe(site, { concurrency: 1 }, () => {
      test(`${site} behind consentry serve: no tracker request before consent, with and without JavaScript`, { timeout: 60000 }, async () => {
        const env = envs[site];
        for (const js of [true, false]) {
          await env.reset(site);
          const context = await chrome.newContext({ javaScriptEnabled: js });
          const page = await context.newPage();
          const requested = [];
          page.on("request", (r) => r.url().includes("/_trackers/") && requested.push(new URL(r.url()).pathname));
          await page.goto(`${env.base}/${site}/`, { waitUntil: "load" });
          if (js) await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
          await page.waitForTimeout(300);
          assert.deepEqual(requested, [], `${site} js=${js}`);
          assert.deepEqual(await env.hits(site), [], `${site} js=${js}: the demo's hit log`);
          const banner = await page.$("#consentry-banner");
          assert.equal(banner !== null, site !== "kisslabs", `${site}: banner shown unless there is nothing to ask`);
          if (banner) assert.equal(await banner.getAttribute("data-consentry-rendered"), "server", "rendered by the proxy");
          await context.close();
        }
      });

      if (site === "redis") {
        test("redis behind consentry serve: reject all sets the cookie and the proxy stores the receipt", { timeout: 60000 }, async () => {
          const env = envs.redis;
          await env.reset("redis");
          const context = await chrome.newContext();
          const page = await context.newPage();
          await page.goto(`${env.base}/redis/`, { waitUntil: "load" });
          await page.waitForFunction(() => window.consentry && window.consentry.get() !== null);
          const post = page.waitForResponse((r) => r.url().endsWith("/consentry/consent"));
          await page.click("[data-consentry-action='reject-all']");
          assert.equal((await post).status(), 200);
          const c = await cookies(context, page);
          assert.match(c.consentry, /^v1\.3\.\d+\.\.[A-Za-z0-9_-]{22}$/);
          const id = c.consentry.split(".").pop();
          const receipt = await page.evaluate(async (id) => (await fetch(`/consentry/receipt/${id}`)).json(), id);
          assert.equal(receipt.id, id);
          assert.equal(receipt.method, "reject-all");
          assert.deepEqual(receipt.granted, ["essential", "account"]);
          await page.reload({ waitUntil: "load" });
          assert.equal(await page.$("#consentry-banner"), null, "no banner once the choice is made");
          assert.deepEqual(await env.hits("redis"), []);
          await context.close();
        });
      }

      for (const signal of BEHIND_PROXY[site]) {
        test(`${site} behind consentry serve, signal ${signal}: the whole scenario row`, { timeout: 120000 }, () => runRow(envs[site], site, signal));
      }
    });
  }
});
