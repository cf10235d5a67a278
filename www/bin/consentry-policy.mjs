#!/usr/bin/env node
// consentry-policy: the ready policy for front-end projects, from npm.
//
//   npx consentry-policy build policy.json [--out PATH] [--lang fr,en | --lang all]
//   npx consentry-policy check policy.json
//
// The same validator and writer as the Rust `consentry policy` command
// (consentry-core compiled to WebAssembly): the output is byte for byte
// what `consentry policy build` writes.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initSync, build, check } from "../dist/consentry_policy.js";

const USAGE = `usage:
  consentry-policy check POLICY.json
      validate a policy; errors name the JSON path (exit 1 on error)
  consentry-policy build POLICY.json [--out PATH] [--lang fr,en | --lang all]
      write the ready policy the banner reads to PATH (a .json file, or a
      directory: DIR/<name>.ready.json; default: beside POLICY.json)`;

function fail(message, code) {
  console.error(`consentry-policy: ${message}`);
  process.exit(code);
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === "--help" || cmd === "-h") fail(USAGE, cmd ? 0 : 2);
let source;
let out;
let langs;
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if ((a === "--out" || a === "--lang") && cmd === "build") {
    if (i + 1 >= rest.length) fail(`${a} needs a value\n\n${USAGE}`, 2);
    if (a === "--out") out = rest[++i];
    else langs = rest[++i];
  } else if (a.startsWith("-")) fail(`unknown option \`${a}\`\n\n${USAGE}`, 2);
  else if (source === undefined) source = a;
  else fail(`unexpected argument \`${a}\`\n\n${USAGE}`, 2);
}
if (source === undefined) fail(`which policy file?\n\n${USAGE}`, 2);

initSync({ module: readFileSync(fileURLToPath(new URL("../dist/consentry_policy_bg.wasm", import.meta.url))) });
let text;
try {
  text = readFileSync(source, "utf8");
} catch (e) {
  fail(`${source}: cannot read: ${e.message}`, 1);
}
try {
  if (cmd === "check") {
    check(text);
    console.log(`${source}: valid`);
  } else if (cmd === "build") {
    const json = build(text, langs);
    const name = `${basename(source, extname(source))}.ready.json`;
    const path = out === undefined ? join(dirname(source), name) : out.endsWith(".json") ? out : join(out, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, json);
    console.log(`${path}: ready policy, ${Buffer.byteLength(json)} bytes`);
  } else fail(`unknown command \`${cmd}\`\n\n${USAGE}`, 2);
} catch (e) {
  fail(`${source}: ${e.message}`, 1);
}
