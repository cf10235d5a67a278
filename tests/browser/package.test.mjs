// What `npm publish` would ship for the "consentry" package: the bundle,
// types, stylesheet and presets — no sources, tests, source maps or node_modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import { root } from "./harness.mjs";

const www = path.join(root, "www");

test("npm pack ships exactly the bundle, its types, the stylesheet and the presets", { timeout: 60000 }, () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: www, encoding: "utf8" });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "dist/consentry.css",
    "dist/consentry.d.ts",
    "dist/consentry.js",
    "dist/consentry_wasm.js",
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
  for (const p of [pkg.main, pkg.types, pkg.exports["."].import, pkg.exports["."].types, pkg.exports["./consentry.css"]]) {
    assert.ok(fs.existsSync(path.join(www, p)), p);
  }
  const dts = fs.readFileSync(path.join(www, pkg.types), "utf8");
  for (const name of ["init", "show", "showPreferences", "hide", "get", "set", "acceptAll", "rejectAll", "reset", "onChange"]) {
    assert.match(dts, new RegExp(`export function ${name}\\(`), name);
  }
});
