// The decision matrix of docs/demo-sites.md in a real browser against the demo:
// every site × {no signal, DNT, GPC} × {first visit, accept all, reject all,
// analytics only, withdraw after accept, consent from an older revision}.
// The rows themselves are in matrix-row.mjs (serve-demo.test.mjs runs them
// behind `consentry serve` too). Run against both adapters: the demo under
// axum with consentry-tower's layer, and under actix-web with
// consentry-actix's middleware (`--server actix`) — one list of rows.
import { describe, test } from "node:test";
import { PARALLEL, useDemo } from "./harness.mjs";
import { SITES, SIGNALS, runRow } from "./matrix-row.mjs";

// Rows of different sites share nothing (each has its own tracker log):
// they run side by side. A row mostly waits (on the network, and for its
// trackers to go quiet), so all five sites run at once unless
// CONSENTRY_BROWSER_PARALLEL=1 asks for one at a time. The two servers run
// one after the other.
const sites = Object.keys(SITES);
const side = PARALLEL > 1 ? Math.max(PARALLEL, sites.length) : 1;

describe("decision matrix", { concurrency: 1 }, () => {
  for (const server of ["axum", "actix"]) {
    describe(server, { concurrency: side }, () => {
      const demo = useDemo(["--server", server]);
      for (const site of sites) {
        // One site's rows in turn: they share its tracker log.
        describe(site, { concurrency: 1 }, () => {
          for (const signal of SIGNALS) {
            test(`${server}: ${site}, signal ${signal}: the whole scenario row`, { timeout: 120000 }, () => runRow(demo, site, signal));
          }
        });
      }
    });
  }
});
