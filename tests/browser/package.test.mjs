// What `npm publish` would ship for the "consentry" package: the bundle,
// types, stylesheet and presets — no sources, tests, source maps or node_modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import { root } from "./harness.mjs";

const www = path.join(root, "www");

test("npm pack ships exactly the bundle, its types, the stylesheet, the presets, the README and the licences", { timeout: 60000 }, () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: www, encoding: "utf8" });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "LICENSE-APACHE",
    "LICENSE-MIT",
    "README.md",
    "bin/consentry-policy.mjs",
    "dist/consentry.css",
    "dist/consentry.d.ts",
    "dist/consentry.js",
    "dist/consentry_policy.js",
    "dist/consentry_policy_bg.wasm",
    "dist/consentry_wasm_bg.wasm",
    "package.json",
    "policies/alkaes.json",
    "policies/kisslabs.json",
    "policies/mailjet.json",
    "policies/rackslab.json",
    "policies/redis.json",
  ]);
  for (const f of files) assert.ok(!/node_modules|\.map$|test/.test(f), f);
});

test("the package's exports and types point at files that exist", { timeout: 10000 }, () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(www, "package.json"), "utf8"));
  const targets = [pkg.main, pkg.module, pkg.types, ...Object.values(pkg.bin)];
  for (const t of Object.values(pkg.exports)) targets.push(...(typeof t === "string" ? [t] : Object.values(t)));
  for (const p of targets.filter((t) => !t.includes("*"))) {
    assert.ok(fs.existsSync(path.join(www, p)), p);
  }
  assert.ok(fs.statSync(path.join(www, pkg.bin["consentry-policy"])).mode & 0o111, "the bin is executable");
  assert.equal(pkg.license, "MIT OR Apache-2.0");
  assert.ok(pkg.engines && pkg.engines.node, "engines.node");
  assert.ok(Array.isArray(pkg.sideEffects) && pkg.sideEffects.includes("*.css"), "sideEffects keeps the stylesheet");
  const dts = fs.readFileSync(path.join(www, pkg.types), "utf8");
  for (const name of ["init", "show", "showPreferences", "hide", "get", "set", "acceptAll", "rejectAll", "reset", "onChange"]) {
    assert.match(dts, new RegExp(`export function ${name}\\(`), name);
  }
});

test("npx consentry-policy build writes byte for byte what `consentry policy build` writes", { timeout: 60000 }, () => {
  const cli = process.env.CONSENTRY_CLI_BIN;
  assert.ok(cli, "CONSENTRY_CLI_BIN names the consentry binary (cargo xtask test sets it)");
  const out = fs.mkdtempSync(path.join(root, "target", "policy-build-"));
  const source = path.join(www, "policies", "redis.json");
  const node = execFileSync("node", [path.join(www, "bin", "consentry-policy.mjs"), "build", source, "--out", path.join(out, "node.json"), "--lang", "fr,en,de"], { encoding: "utf8" });
  assert.match(node, /ready policy, \d+ bytes/);
  execFileSync(cli, ["policy", "build", source, "--out", path.join(out, "rust.json"), "--lang", "fr,en,de"], { encoding: "utf8" });
  const a = fs.readFileSync(path.join(out, "node.json"), "utf8");
  assert.equal(a, fs.readFileSync(path.join(out, "rust.json"), "utf8"));
  const ready = JSON.parse(a);
  assert.equal(ready.format, "consentry-ready/1");
  assert.deepEqual(Object.keys(ready.texts).sort(), ["de", "en", "fr"]);
  // A broken policy: both name the JSON path and exit 1.
  const bad = path.join(out, "bad.json");
  fs.writeFileSync(bad, JSON.stringify({ revision: 1, categories: [{ id: "essential", required: true }], services: [{ id: "x", kind: "ga4", category: "analytic", config: { measurement_id: "G-AB12CD34" } }] }));
  for (const [cmd, args] of [["node", [path.join(www, "bin", "consentry-policy.mjs"), "check", bad]], [cli, ["policy", "check", bad]]]) {
    let failed = null;
    try {
      execFileSync(cmd, args, { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      failed = e;
    }
    assert.ok(failed, `${cmd} accepted a broken policy`);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /services\[0\]\.category/);
  }
  fs.rmSync(out, { recursive: true, force: true });
});
