// Browser benchmark (run by `cargo xtask bench`, not a test): how soon each
// consent tool shows its banner on the same page served by the same server
// (crates/consentry-tower/examples/banner_bench.rs).
//
//   node bench-banner.mjs BASE_URL RUNS OUT_JSON
//
// For every run: a fresh browser context (empty cache, no cookies), the
// variants interleaved round-robin so drift hits them alike. In the page,
// from the first script to run (addInitScript):
// - banner visible: performance.now() in the first animation frame in which
//   the banner element is laid out, inside the viewport and visible
//   (checkVisibility with opacity and visibility) — the frame that paints it;
// - first contentful paint and cumulative layout shift from
//   PerformanceObserver (buffered), CLS summed until 1 s after the banner
//   showed and the load event fired.
// All times are milliseconds from navigation start.
import fs from "node:fs";
import { browser } from "./harness.mjs";

const [base, runsArg, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node bench-banner.mjs BASE_URL RUNS OUT_JSON");
  process.exit(2);
}
const runs = Number(runsArg) || 25;

const variants = [
  { id: "server", path: "/server/", selector: "#consentry-banner" },
  { id: "script", path: "/script/", selector: "#consentry-banner" },
  { id: "script-plain", path: "/script-plain/", selector: "#consentry-banner" },
  { id: "script-both", path: "/script-both/", selector: "#consentry-banner" },
  { id: "script-source", path: "/script-source/", selector: "#consentry-banner" },
  { id: "vanilla", path: "/vanilla/", selector: "#cc-main .cm" },
];

// Lighthouse's mobile profile ("slow 4G" with a 4x slower CPU) beside the
// raw loopback: the bytes each tool downloads and compiles matter there.
const profiles = [
  { id: "loopback", label: "loopback, no throttling", network: null, cpu: 1 },
  {
    id: "slow4g",
    label: "slow 4G (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up) and CPU 4x slower",
    network: { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 },
    cpu: 4,
  },
];

function probe(selector) {
  const out = { visible: null, fcp: null, cls: 0, shifted: [] };
  const rect = (r) => `${Math.round(r.width)}×${Math.round(r.height)} at (${Math.round(r.x)}, ${Math.round(r.y)})`;
  const describe = (src) => {
    const n = src.node;
    const name = !n ? "?" : n.id ? `#${n.id}` : n.nodeName.toLowerCase() + (n.className ? `.${String(n.className).split(" ")[0]}` : "");
    return `${name} ${rect(src.previousRect)} → ${rect(src.currentRect)}`;
  };
  window.__bench = out;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!e.hadRecentInput) {
        out.cls += e.value;
        for (const src of e.sources) out.shifted.push(describe(src));
      }
    }
  }).observe({ type: "layout-shift", buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "first-contentful-paint") out.fcp = e.startTime;
  }).observe({ type: "paint", buffered: true });
  const shown = (el) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  };
  const frame = () => {
    const el = document.querySelector(selector);
    if (el && shown(el)) out.visible = performance.now();
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

async function once(b, profile, variant) {
  const context = await b.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (profile.network) {
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", profile.network);
    }
    if (profile.cpu > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: profile.cpu });
    await page.addInitScript(probe, variant.selector);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(base + variant.path, { waitUntil: "load", timeout: 60000 });
    await page.waitForFunction(() => window.__bench && window.__bench.visible !== null, null, { timeout: 30000 });
    await page.waitForTimeout(1000);
    const m = await page.evaluate(() => window.__bench);
    if (errors.length) throw new Error(`${variant.id}: page errors: ${errors.join("; ")}`);
    if (m.fcp === null) throw new Error(`${variant.id}: no first-contentful-paint entry`);
    return m;
  } finally {
    await context.close();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const b = await browser();
const result = { runs, chromium: b.version(), profiles: [] };
try {
  for (const profile of profiles) {
    // One warm-up round so the first measured run does not pay for process start-up.
    for (const v of variants) await once(b, profile, v);
    const samples = Object.fromEntries(variants.map((v) => [v.id, []]));
    for (let i = 0; i < runs; i++) {
      for (const v of variants) samples[v.id].push(await once(b, profile, v));
      if ((i + 1) % 5 === 0 || i + 1 === runs) console.log(`  ${profile.id}: run ${i + 1}/${runs} of each variant`);
    }
    const stats = {};
    for (const v of variants) {
      const s = samples[v.id];
      const visible = s.map((x) => x.visible);
      const fcp = s.map((x) => x.fcp);
      const cls = s.map((x) => x.cls);
      stats[v.id] = {
        visible_median: median(visible),
        visible_p10: quantile(visible, 0.1),
        visible_p90: quantile(visible, 0.9),
        fcp_median: median(fcp),
        cls_median: median(cls),
        cls_max: Math.max(...cls),
        runs_with_shift: s.filter((x) => x.cls > 0).length,
        shifted: [...new Set(s.flatMap((x) => x.shifted))],
      };
    }
    result.profiles.push({ id: profile.id, label: profile.label, stats });
  }
} finally {
  await b.close();
}
fs.writeFileSync(out, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
