// The decision matrix of docs/demo-sites.md in a real browser against the demo:
// every site × {no signal, DNT, GPC} × {first visit, accept all, reject all,
// analytics only, withdraw after accept, consent from an older revision}.
// The rows themselves are in matrix-row.mjs (serve.test.mjs runs them behind
// `consentry serve` too).
import { describe, test } from "node:test";
import { PARALLEL, useDemo } from "./harness.mjs";
import { SITES, SIGNALS, runRow } from "./matrix-row.mjs";

const demo = useDemo();

// Sites side by side (each has its own tracker log); one site's rows in turn.
describe("decision matrix", { concurrency: PARALLEL }, () => {
  for (const site of Object.keys(SITES)) {
    describe(site, { concurrency: 1 }, () => {
      for (const signal of SIGNALS) {
        test(`${site}, signal ${signal}: the whole scenario row`, { timeout: 120000 }, () => runRow(demo, site, signal));
      }
    });
  }
});
