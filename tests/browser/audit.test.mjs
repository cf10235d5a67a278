// `consentry audit` end to end: the binary drives its own headless Chromium
// over the DevTools protocol against real servers, and its reports are
// checked here. The five demo sites pass; the demo served without its layer,
// and with a tag no policy knows, fail with exactly the expected rules and
// name the offending request or cookie; the JSON report validates against
// docs/audit-report.schema.json; the HTML report opens in Chromium with no
// console error and shows every phase's screenshot; a page using
// vanilla-cookieconsent 3.1 (from npm) is audited through the autoconsent
// rule set.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { browser, root, startDemo, staticServer, CHROMIUM } from "./harness.mjs";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const schema = JSON.parse(fs.readFileSync(path.join(root, "docs", "audit-report.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

const bin = process.env.CONSENTRY_CLI_BIN || path.join(root, "target", "debug", "consentry");
let tmp;
let demo;
let leaky;
let bare;
let chrome;

before(async () => {
  if (!fs.existsSync(bin)) throw new Error(`build it first (cargo build -p consentry-cli): ${bin}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-audit-"));
  [demo, leaky, bare] = [await startDemo(), await startDemo(["--leaky-tag"]), await startDemo(["--no-layer"])];
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  for (const d of [demo, leaky, bare]) d?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Runs `consentry audit` and resolves with its exit code, output and JSON
 * report. An audit still running after 170 s is stopped and resolves with
 * what it printed, so a stall fails the test with the audit's own account
 * of where it was rather than a bare time-out.
 */
function audit(url, name, extra = []) {
  const out = path.join(tmp, name);
  const args = ["audit", url, "--out", out, "--chrome", CHROMIUM, ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      stderr += "\n[test] the audit was still running after 170 s: stopped\n";
      child.kill("SIGKILL");
    }, 170000);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const json = path.join(out, "audit.json");
      const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, "utf8")) : null;
      resolve({ code, stdout, stderr, report, out });
    });
  });
}

const failed = (report) => report.rules.filter((v) => v.status === "fail").map((v) => v.rule).sort();
const evidence = (report, rule) => report.rules.find((v) => v.rule === rule).evidence.join("\n");

function valid(report) {
  assert.ok(validate(report), `the report matches docs/audit-report.schema.json: ${JSON.stringify(validate.errors, null, 1)}`);
}

// Two audits at once: each drives its own Chromium, mostly waiting on its
// phases' quiet periods.
describe("the five demo sites", { concurrency: 2 }, () => {
  for (const site of ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"]) {
    test(`${site}: the demo site passes the audit`, { timeout: 180000 }, async () => {
      const policy = path.join(root, "www", "policies", `${site}.json`);
      // (Consentry's own banner: the other tools' rule set is not needed here.)
      const { code, stdout, stderr, report } = await audit(`${demo.base}/${site}/`, site, ["--policy", policy, "--no-autoconsent"]);
      assert.ok(report, `a report was written: ${stderr}`);
      valid(report);
      assert.deepEqual(failed(report), [], `${site}: ${stderr}`);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /consentry audit http:\/\/127\.0\.0\.1:\d+\/\w+\/: \d+ passed, 0 errors/);
      assert.deepEqual(report.phases.map((p) => p.id), ["first-visit", "reject-all", "accept-all", "dnt", "gpc", "withdraw"]);
      const banner = report.rules.find((v) => v.rule === "banner-shown");
      if (site === "kisslabs") {
        assert.equal(banner.status, "not-applicable", "kisslabs has nothing to ask about");
        assert.equal(report.phases[0].banner, null);
      } else {
        assert.equal(banner.status, "pass");
        assert.equal(report.consent_tool, "consentry");
        for (const id of ["reject-all", "accept-all", "withdraw"]) {
          assert.equal(report.phases.find((p) => p.id === id).choice_made, true, `${site}: ${id} made by clicking`);
        }
        // Accepting really switched trackers on: the audit sees them, classified by the policy.
        const accepted = report.phases.find((p) => p.id === "accept-all");
        assert.ok(
          accepted.requests.some((r) => r.after_choice && r.class && !r.class.essential && r.class.source === "policy"),
          `${site}: trackers recorded after "accept all"`,
        );
      }
      for (const p of report.phases) assert.ok(p.screenshot_png, `${site}/${p.id}: a screenshot`);
    });
  }
});

test("the demo without its layer fails: no banner, trackers before any choice, GPC ignored", { timeout: 180000 }, async () => {
  const policy = path.join(root, "www", "policies", "redis.json");
  const { code, stderr, report } = await audit(`${bare.base}/redis/`, "bare", ["--policy", policy, "--no-autoconsent"]);
  valid(report);
  assert.equal(code, 1, "exit status 1: an error-level rule failed");
  assert.deepEqual(failed(report), ["banner-shown", "gpc-honoured", "gpc-well-known", "no-tracking-before-choice"], stderr);
  assert.match(evidence(report, "no-tracking-before-choice"), /request http:\/\/127\.0\.0\.1:\d+\/_trackers\/gtag\/js\?id=G-R3D1S0001 \(Script, analytics: ga4, per policy\)/);
  assert.match(evidence(report, "no-tracking-before-choice"), /cookie _ga on 127\.0\.0\.1/);
  // With --fail-on notice the exit status is the same; the notice is there.
  assert.equal(report.rules.find((v) => v.rule === "gpc-well-known").severity, "notice");
});

test("a tag the policy does not know fails the audit, and the evidence names its cookie", { timeout: 180000 }, async () => {
  const policy = path.join(root, "www", "policies", "redis.json");
  const { code, report } = await audit(`${leaky.base}/redis/`, "leaky", ["--policy", policy, "--no-autoconsent"]);
  valid(report);
  assert.equal(code, 1);
  assert.deepEqual(failed(report), [
    "accept-only-declared",
    "gpc-honoured",
    "no-tracking-before-choice",
    "nothing-after-reject",
    "withdrawal-effective",
  ]);
  const first = evidence(report, "no-tracking-before-choice").split("\n")[0];
  assert.match(first, /^cookie _fbp on 127\.0\.0\.1 \(marketing: Facebook, per open-cookie-database; set by script\)$/);
  assert.match(evidence(report, "nothing-after-reject"), /cookie _fbp/);
  assert.match(evidence(report, "accept-only-declared"), /not in the policy: cookie _fbp/);
  // Only the unknown tag: what the policy declares stays gated.
  assert.doesNotMatch(evidence(report, "no-tracking-before-choice"), /gtag|_ga\b/);
});

test("the HTML report opens offline with no console error and shows every phase's screenshot", { timeout: 180000 }, async () => {
  const { report, out } = await audit(`${demo.base}/redis/`, "html", ["--policy", path.join(root, "www", "policies", "redis.json")]);
  const context = await chrome.newContext({ offline: true });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const requests = [];
  page.on("request", (r) => !r.url().startsWith("file:") && !r.url().startsWith("data:") && requests.push(r.url()));
  await page.goto("file://" + path.join(out, "audit.html"), { waitUntil: "load" });
  const shots = await page.$$eval("img.screenshot", (imgs) => imgs.map((i) => i.complete && i.naturalWidth > 0));
  assert.equal(shots.length, report.phases.length, "one screenshot per phase");
  assert.ok(shots.every(Boolean), "every screenshot decodes");
  assert.match(await page.textContent("#summary"), /\d+ passed, 0 errors/);
  for (const p of report.phases) assert.ok(await page.$(`#phase-${p.id}`), `section for ${p.id}`);
  for (const v of report.rules) assert.ok(await page.$(`#rule-${v.rule}`), `row for ${v.rule}`);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [], "self-contained: nothing fetched");
  await context.close();
});

test("a page using vanilla-cookieconsent 3.1 is audited through the autoconsent rule set", { timeout: 180000 }, async () => {
  const dist = path.join(root, "tests", "browser", "node_modules", "vanilla-cookieconsent", "dist");
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="stylesheet" href="/cc/cookieconsent.css">
<script type="text/plain" data-category="analytics" src="/collect.js"></script>
</head><body><h1>A shop with vanilla-cookieconsent</h1><p><a href="/about">About</a></p>
<script src="/cc/cookieconsent.umd.js"></script>
<script>
CookieConsent.run({
  categories: { necessary: { enabled: true, readOnly: true }, analytics: {} },
  language: { default: "en", translations: { en: {
    consentModal: { title: "We use cookies", description: "We and our partners measure the audience. You can refuse, and change your mind at any time.",
      acceptAllBtn: "Accept all", acceptNecessaryBtn: "Reject all", showPreferencesBtn: "Manage preferences" },
    preferencesModal: { title: "Preferences", acceptAllBtn: "Accept all", acceptNecessaryBtn: "Reject all", savePreferencesBtn: "Save",
      sections: [{ title: "Analytics", linkedCategory: "analytics" }] } } } }
});
</script></body></html>`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/cc/")) {
      const file = path.join(dist, path.basename(url.pathname));
      res.writeHead(200, { "content-type": file.endsWith(".css") ? "text/css" : "text/javascript" });
      return res.end(fs.readFileSync(file));
    }
    if (url.pathname === "/collect.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(`document.cookie = "_ga=GA1.1.42.42; path=/; max-age=63072000";`);
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const base = `http://127.0.0.1:${server.address().port}/`;
    const { code, report, stderr } = await audit(base, "vanilla", ["--pages", "1"]);
    valid(report);
    assert.equal(code, 0, `no error-level rule fails: ${stderr}`);
    assert.equal(report.consent_tool, "cookieconsent3", stderr);
    assert.equal(report.policy, null, "no Consentry policy on this page");
    const phase = (id) => report.phases.find((p) => p.id === id);
    assert.equal(phase("first-visit").banner.tool, "cookieconsent3");
    assert.equal(phase("first-visit").banner.reject.label, "Reject all");
    assert.equal(phase("reject-all").choice_made, true, "autoconsent clicked reject");
    assert.equal(phase("accept-all").choice_made, true, "autoconsent clicked accept");
    assert.deepEqual(phase("accept-all").pages, [base, `${base}about`], "--pages 1 followed the link");
    const ga = (p) => p.cookies.find((c) => c.name === "_ga");
    assert.equal(ga(phase("first-visit")), undefined, "nothing before the choice");
    assert.equal(ga(phase("reject-all")), undefined, "nothing after reject");
    assert.equal(ga(phase("accept-all")).class.source, "open-cookie-database", "GA's cookie after accept, known to the cookie database");
    assert.equal(report.rules.find((v) => v.rule === "nothing-after-reject").status, "pass");
    assert.equal(report.rules.find((v) => v.rule === "reject-on-first-layer").status, "pass");
    assert.equal(report.rules.find((v) => v.rule === "withdrawal-effective").status, "not-applicable");
    assert.ok(report.datasets.some((d) => d.name === "autoconsent" && d.licence === "MPL-2.0"));
    // The modal has no privacy-policy link: a warning, which fails the run only when asked to.
    assert.equal(report.rules.find((v) => v.rule === "privacy-policy-link").status, "fail");
    const strict = await audit(base, "vanilla-strict", ["--only", "first-visit", "--fail-on", "warning"]);
    assert.equal(strict.code, 1, "--fail-on warning: exit status 1");
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("a static site with only the script tag: the audit reads the policy the banner loads (data-policy)", { timeout: 180000 }, async () => {
  const site = await staticServer();
  try {
    const { code, stdout, stderr, report } = await audit(`${site.url}/`, "static", ["--only", "first-visit,accept-all,withdraw"]);
    assert.ok(report, `a report was written:\n${stdout}\n${stderr}`);
    valid(report);
    assert.equal(code, 0, stderr);
    assert.equal(report.consent_tool, "consentry");
    assert.equal(report.policy.source, "site");
    assert.equal(report.policy.location, `${site.url}/policy.json`);
    const accepted = report.phases.find((p) => p.id === "accept-all");
    assert.equal(accepted.choice_made, true);
    const ga = accepted.cookies.find((c) => c.name === "_ga");
    assert.deepEqual(ga.class, { category: "analytics", service: "ga4", source: "policy", essential: false });
    assert.equal(report.rules.find((v) => v.rule === "withdrawal-effective").status, "pass", "withdrawal deleted _ga*");
    assert.deepEqual(failed(report), []);
  } finally {
    await site.close();
  }
});
