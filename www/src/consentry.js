// Consentry banner: the page layer around the WebAssembly rules module.
//
// Script tag:  <script type="module" src="/consentry/consentry.js" data-policy="/policy.ready.json"></script>
//              (the README shows the preload hints that make it appear sooner)
// npm:         import { init, onChange } from "consentry";  init({ policyUrl: "/policy.ready.json" });
// Middleware:  ConsentLayer injects this loader and the ready policy; nothing to do.
//
// Every consent rule — reading the policy's rules, the consent cookie, DNT and
// GPC, what is granted, which tag may run, which cookies a withdrawal deletes,
// what Consent Mode and Matomo are told, the language — is asked of the wasm
// module (consentry-core, the code the server runs). This file only does the
// page's part: insert the ready markup, switch tags, run the dialog, and
// expose the API. It reads a *ready* policy (`consentry policy build`):
// validated, with its markup rendered. Handed a policy source instead, it
// fetches the policy builder (a larger module) and builds it in the page.

import * as glue from "./consentry_wasm_bg.js";

const { ask } = glue;
// The rules module's questions (consentry-banner's `ask`: one export, so
// one wrapper in the glue), by number; texts, the time and two flags.
// The texts go as one, NUL-separated; a NUL inside one becomes U+FFFD (as
// the HTML parser does), which no id or language tag holds.
const q = (n, texts, time = 0, flags = 0) =>
  ask(n, texts.map((t) => t.replaceAll("\0", "\ufffd")).join("\0"), time, flags);
const wasm = {
  start: (rules, cookies, dnt, gpc, time, model) => +q(0, [rules, cookies, dnt, model], time, +gpc),
  language: (available, preferred) => q(1, [available, preferred]),
  state: () => q(2, []),
  choose: (granted, id, time, secure, optOut) => q(3, [granted, id], time, secure | (optOut << 1)),
  reset: (time, secure) => q(4, [], time, +secure),
  allows: (c, hasC, s, hasS) => !!q(5, [c, s], 0, hasC | (hasS << 1)),
  refusedCookies: (cookies) => q(6, [cookies]),
};

const READY = "consentry-ready/1";
const BANNER = "consentry-banner";
const DIALOG = "consentry-preferences";
const POLICY = "consentry-policy";
const SETTINGS = ".consentry-settings";
const OPTOUT = ".consentry-optout";
const STATUS = ".consentry-status";
const GATE = "consentry-gate";

// The rules module's glue (wasm-bindgen's `bundler` target: its exports and
// string helpers, no loader) is bundled into this file; the wasm is fetched
// and instantiated here, with the glue as its imports, as a bundler would.
// The wasm and the policy are requested together as soon as init() runs,
// one round trip.
let runtime = null;
function loadRuntime() {
  runtime ||= (async () => {
    const res = await fetch(new URL("consentry_wasm_bg.wasm", import.meta.url));
    if (!res.ok) throw new Error(`consentry: cannot load ${res.url}: HTTP ${res.status}`);
    // From the bytes rather than streamed: no dependency on the server's
    // content type for .wasm files.
    const { instance } = await WebAssembly.instantiate(await res.arrayBuffer(), { "./consentry_wasm_bg.js": glue });
    glue.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
  })().catch((e) => {
    runtime = null; // a later init() tries again
    throw e;
  });
  return runtime;
}

const languages = () => [document.documentElement.lang, ...(navigator.languages || [])].filter(Boolean);

// Policy sources only: validate and render in the page.
async function buildReady(source) {
  const builder = await import("./consentry_policy.js");
  await builder.default({ module_or_path: new URL("consentry_policy_bg.wasm", import.meta.url) });
  console.info(
    "consentry: the page gave a policy source, so it was validated in the browser; " +
      "run `consentry policy build policy.json` (or `npx consentry-policy build policy.json`) " +
      "and point data-policy at the ready file to skip this step",
  );
  return JSON.parse(builder.readyFor(JSON.stringify(source), languages()));
}

// The rules module answers in codes; the words are here.
const WORDS = {
  2: `this ready policy is of another version (this banner reads ${READY}); rebuild it with \`consentry policy build\``,
  3: "this ready policy is malformed; rebuild it with `consentry policy build`",
  13: "set() takes an object such as { analytics: true }",
};
const fault = (code) => new Error(`consentry: ${WORDS[code]}`);

// ---------------------------------------------------------------------------
// The page

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const now = () => Date.now() / 1000;
const secure = () => location.protocol === "https:";
const emit = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));

let texts = null; // the ready markup in the visitor's language
let dialog = null; // { root, back } while the dialog is open
let ready = false;

const rules = () => JSON.parse(wasm.state());
// What a map from the rules says of `key`, if it is one of its own keys (a
// service named `constructor` is no Object method).
const own = (map, key) => Object.keys(map).includes(key) && map[key];
function publicState(s) {
  const { categories, services, revision, needsBanner, reason, id, date, model } = s;
  const iso = date === null ? null : new Date(date * 1000).toISOString();
  const [region, source = "unknown"] = where;
  return { categories, services, revision, needsBanner, reason, id, date: iso, model, region: region || null, source };
}

// Where the visitor is: the server's word, <meta name="consentry-region"
// content="<region> <source> <model>"> (ConsentLayer writes it when it
// knows), else on a static site the ready policy's guess from the time
// zone (an approximation: the strictest model of the zone's country), else
// nothing and the policy's default model applies.
let where = [];
function locate(p) {
  where = ($("meta[name='consentry-region']")?.content || "").split(" ").filter(Boolean);
  const guess = !where.length && p.zones?.[Intl.DateTimeFormat().resolvedOptions().timeZone];
  if (guess) where = ["", "time-zone", guess];
  return where;
}

const allowed = (el) => {
  const c = el.getAttribute("data-category");
  const s = el.getAttribute("data-service");
  return wasm.allows(c ?? "", c !== null, s ?? "", s !== null);
};

// Consentry's own markup: what this layer inserted, and what this
// response's server rendered (its gate token on the root). Only from there
// (or from the site's own containers, init({ actionsIn }) or the script
// tag's data-actions-in) does a click record a choice: a sanitised comment
// that kept data-consentry-action="accept-all" records nothing.
const mine = new WeakSet();
// The actions that record no choice (core's Action::records_choice).
const ANYWHERE = ["preferences", "close"];
let actionsIn = null;
function trusted(el) {
  for (let n = el; n; n = n.parentElement) {
    if (mine.has(n) || (gateToken !== null && n.getAttribute("data-consentry-root") === gateToken)) return true;
  }
  try {
    return !!actionsIn && !!el.closest(actionsIn);
  } catch {
    return false; // not a selector
  }
}

function append(markup) {
  const from = document.body.children.length;
  document.body.insertAdjacentHTML("beforeend", markup);
  for (const el of [...document.body.children].slice(from)) mine.add(el);
}

// The attributes the server moves to data-<name> (`:` as `-`) to keep an
// element from fetching, as core's GATED_ATTRIBUTES lists them (a test keeps
// the two equal): URLs, URL lists, and markup or CSS (srcdoc, style).
const GATED_ATTRIBUTES = "src srcset poster data href xlink:href imagesrcset ping background srcdoc style".split(" ");
// Markup and CSS come back only where this response's server gated them:
// its token in <head> and on the element (user-posted HTML cannot know it).
const MARKUP = ["srcdoc", "style"];
let gateToken = null;
// A URL is made live only if http(s), relative or about:blank (core's
// may_activate_url, with the browser's own parser): never javascript: or data:.
const SCHEMES = ["http", "https"];
const safeUrl = (v) => {
  try {
    return SCHEMES.includes(new URL(v, document.baseURI).protocol.slice(0, -1)) || v.trim().toLowerCase() === "about:blank";
  } catch {
    return false;
  }
};
const restorable = (el, a, v) =>
  MARKUP.includes(a)
    ? gateToken !== null && el.getAttribute("data-consentry-gated") === gateToken
    : /srcset|ping/.test(a) || safeUrl(v);

// A fresh copy of an inert <script> or <style>: a browser never runs a
// script, nor makes a sheet of a style, whose type changed after insertion.
function revive(old, tag) {
  const fresh = document.createElement(tag);
  for (const a of old.attributes) if (a.name !== "type") fresh.setAttribute(a.name, a.value);
  const type = old.getAttribute("data-type");
  if (type) fresh.type = type;
  // Inserted by script, it has the page's nonce only if copied.
  if (old.nonce) fresh.nonce = old.nonce;
  fresh.textContent = old.textContent;
  return fresh;
}

// Inert tags the decision now allows become live. External scripts keep
// document order (async = false).
function activate() {
  for (const old of $$("script[type='text/plain'][data-category],script[type='text/plain'][data-service]")) {
    if (!allowed(old)) continue;
    const fresh = revive(old, "script");
    if (old.src && !old.hasAttribute("async")) fresh.async = false;
    old.replaceWith(fresh);
  }
  // Style sheets the server held in a <template> (an @import in any
  // <style> is fetched, whatever its type), or that the author marked.
  for (const old of $$("template[data-consentry-style],style[type='text/plain']")) {
    if (!allowed(old)) continue;
    const fresh = revive(old, "style");
    fresh.removeAttribute("data-consentry-style");
    if (old.content) fresh.textContent = old.content.textContent;
    old.replaceWith(fresh);
  }
  // Embeds, pixels and hints the server (or the author) made inert: each
  // fetching attribute was moved to data-<name>.
  for (const el of $$("[data-category],[data-service]")) {
    let live;
    for (const a of GATED_ATTRIBUTES) {
      const v = el.getAttribute(`data-${a.replace(":", "-")}`);
      if (v === null || el.hasAttribute(a) || !allowed(el) || !restorable(el, a, v)) continue;
      if (a === "xlink:href") el.setAttributeNS("http://www.w3.org/1999/xlink", a, v);
      else el.setAttribute(a, v);
      live = 1;
    }
    if (!live) continue;
    const notice = placeholderOf(el);
    if (notice) notice.remove();
    if (el.hasAttribute("data-consentry-hid")) el.removeAttribute("hidden");
  }
}

const placeholderOf = (frame) => {
  const p = frame.previousElementSibling;
  return p && p.hasAttribute("data-consentry-placeholder") ? p : null;
};

// A click-to-load notice in place of every embed whose category is refused.
// It takes the frame's box (size, inline or block), so swapping one for the
// other moves nothing: no layout shift. Sizes go through the CSSOM, which a
// strict CSP allows.
function placeholders() {
  const of = rules().of; // once, not per frame: the state is built and parsed whole
  for (const frame of $$("iframe[data-src]:not([src])")) {
    if (allowed(frame) || placeholderOf(frame)) continue;
    const service = frame.getAttribute("data-service");
    const category = frame.getAttribute("data-category") || own(of, service);
    if (!category) continue;
    const inline = getComputedStyle(frame).display === "inline";
    const box = frame.getBoundingClientRect();
    frame.insertAdjacentHTML("beforebegin", texts.placeholder);
    const notice = frame.previousElementSibling;
    mine.add(notice);
    notice.setAttribute("data-consentry-placeholder", category);
    $("[data-consentry-load]", notice).setAttribute("data-consentry-load", category);
    if (inline) notice.classList.add("consentry-placeholder--inline");
    if (box.height > 0) {
      notice.style.setProperty("width", `${Math.round(box.width)}px`);
      notice.style.setProperty("min-height", `${Math.round(box.height)}px`);
    }
    if (!frame.hidden) {
      frame.hidden = true; // the empty frame would show as a blank box
      frame.setAttribute("data-consentry-hid", "");
    }
  }
}

// Deletes the cookies of every service the visitor has not (or no longer)
// allowed, on this host and its parent domains, for every prefix of the path.
function deleteRefusedCookies() {
  const names = wasm.refusedCookies(document.cookie).split("\n").filter(Boolean);
  if (!names.length) return;
  const paths = ["/"];
  let acc = "";
  for (const seg of location.pathname.split("/").filter(Boolean)) paths.push((acc += `/${seg}`), `${acc}/`);
  const domains = [""];
  const labels = location.hostname.split(".");
  if (labels.length > 1 && !/^[\d.]+$/.test(location.hostname)) {
    for (let i = 0; i < labels.length - 1; i++) domains.push(`; Domain=${labels.slice(i).join(".")}`);
  }
  for (const name of names) {
    for (const p of paths) for (const d of domains) document.cookie = `${name}=; Max-Age=0; Path=${p}${d}`;
  }
}

// Consent Mode and Matomo, told what the rules decided.
function notifyTools(s) {
  if (s.google && typeof window.gtag === "function") window.gtag("consent", "update", s.google);
  if (window._paq && typeof window._paq.push === "function") for (const c of s.matomo) window._paq.push([c]);
}

// The first layer of the visitor's consent model (ready markup: `banner`
// for opt-in, `optout` and `notice` for the others).
const layerOf = (t, model) => (model === "opt-out" ? t.optout : model && model !== "opt-in" && t.notice) || t.banner;
const firstLayer = (model) => layerOf(texts, model);

// The banner while the visitor must be asked; the settings button after;
// where the law is opt-out, the "Do Not Sell or Share" link until the
// visitor has opted out, and the confirmation after (or when GPC did it).
function chrome(s) {
  const banner = document.getElementById(BANNER);
  if (s.needsBanner) {
    if (banner) banner.hidden = false;
    else append(firstLayer(s.model));
  } else if (banner) banner.remove();
  const settings = $(SETTINGS);
  if (!s.needsBanner && s.optional.length) {
    if (!settings) append(texts.settings);
  } else if (settings) settings.remove();
  const optedOut = s.sale.every((c) => !s.categories[c]);
  const link = $(OPTOUT);
  if (s.model === "opt-out" && !s.needsBanner && !optedOut && s.sale.length && texts.optout_link) {
    if (!link) append(texts.optout_link);
  } else if (link) link.remove();
  if (s.model === "opt-out" && s.signal && !$(STATUS) && texts.gpc_done) append(texts.gpc_done);
}

function effects(before) {
  const s = rules();
  const withdrew = Object.keys(s.services).some((k) => before.services[k] && !s.services[k]);
  if (withdrew || !s.needsBanner) deleteRefusedCookies();
  activate();
  notifyTools(s);
  chrome(s);
  emit("consentry:change", publicState(s));
}

// Records a choice of optional categories: cookie, receipt POST, effects.
// `as` names the choice for the receipt when it is more than a list
// ("opt-out": the server applies the same rule and records it as one).
function choose(granted, as) {
  const before = rules();
  // The consent id: 16 random bytes in base64url (22 characters).
  const bytes = String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)));
  const id = btoa(bytes).slice(0, 22).replace(/\+/g, "-").replace(/\//g, "_");
  let [cookie, endpoint, body] = wasm.choose(granted.join("~"), id, now(), secure(), as === "opt-out").split("\t");
  if (as) body = JSON.stringify({ granted: as });
  document.cookie = cookie;
  // The cookie written above already works if this fails; when it succeeds
  // the server's cookie (same name and path, the receipt's id) replaces it.
  if (endpoint) record(new URL(endpoint, location), body, 0);
  closeDialog(false);
  effects(before);
}

// The receipt POST (against the page's own URL: a <base href> elsewhere must
// not move it). The visitor's choice stands whatever happens; a network
// error, a 5xx or a 429 is tried again after 2, 10 and 30 s while the page
// is open; each outcome is a `consentry:receipt` event ({ stored, status,
// id }) and a failure one console warning. A newer choice ends the retries.
let posting = 0;
function record(url, body, tries) {
  const mine = tries ? posting : ++posting;
  const report = (stored, status, id) => {
    emit("consentry:receipt", { stored, status, id: id ?? null });
    if (!stored) console.warn(`consentry: the consent receipt was not stored (${status ? `HTTP ${status}` : "network error"})`);
  };
  const again = (status) =>
    tries < 3 && mine === posting ? setTimeout(() => record(url, body, tries + 1), [2e3, 1e4, 3e4][tries]) : report(false, status);
  fetch(url, { method: "POST", body, headers: { "content-type": "application/json" }, credentials: "same-origin" }).then(
    async (res) => {
      if (res.ok) {
        const answer = await res.json().catch(() => ({}));
        report(answer.receipt === true, res.status, answer.id);
      } else if (res.status >= 500 || res.status === 429) again(res.status);
      else report(false, res.status);
    },
    () => again(0),
  );
}

// "Do Not Sell or Share": everything as it is, less the sale/sharing
// categories (core's rule, in the rules module); one click, confirmed.
function optOut() {
  choose([], "opt-out");
  if (!$(STATUS) && texts.optout_done) append(texts.optout_done);
}

// Forgets the choice (the consent cookie and the services' cookies) and asks again.
function forget() {
  const before = rules();
  document.cookie = wasm.reset(now(), secure());
  deleteRefusedCookies();
  closeDialog(false);
  effects(before);
}

// ---------------------------------------------------------------------------
// The preferences dialog

const focusables = (root) => $$("input:not([disabled]),button:not([disabled]),a[href]", root);

// The ready markup, then the visitor's state applied to it: what is granted
// ticked; everything disabled, and the notice shown, when a signal decided.
function openDialog() {
  if (dialog) return;
  const back = document.activeElement;
  append(texts.dialog);
  const root = document.getElementById(DIALOG);
  const s = rules();
  // A signal under opt-out (GPC) fixes only the sale/sharing categories.
  const fixed = (c) => s.signal && (s.model !== "opt-out" || s.sale.includes(c));
  const shown = s.chosen || s.model !== "opt-in";
  for (const input of $$("input.consentry-toggle[data-category]:not([disabled])", root)) {
    const c = input.getAttribute("data-category");
    input.checked = shown && s.categories[c] === true;
    input.disabled = fixed(c);
  }
  for (const input of $$("input[data-service]", root)) {
    input.checked = shown && s.services[input.getAttribute("data-service")] === true;
    input.disabled = fixed(input.getAttribute("data-of"));
  }
  for (const input of $$("input.consentry-toggle[data-category]", root)) mixed(root, input.getAttribute("data-category"));
  if (s.signal && s.model !== "opt-out") for (const n of $$(".consentry-notice", root)) n.hidden = false;
  dialog = { root, back };
  focusables(root)[0]?.focus();
}

// A category's toggle follows its services: on when all are, mixed when
// some are (the checkbox's indeterminate state, announced as "mixed").
function mixed(root, category) {
  const services = $$(`input[data-of="${category}"]`, root);
  const toggle = $(`input.consentry-toggle[data-category="${category}"]`, root);
  if (!services.length || !toggle || toggle.disabled && toggle.checked) return;
  const on = services.filter((i) => i.checked).length;
  toggle.checked = on === services.length;
  toggle.indeterminate = on > 0 && on < services.length;
}

// In the dialog: a category's toggle sets all its services; a service's
// sets its category's state.
function onToggle(event) {
  const t = event.target;
  if (!dialog || !(t instanceof HTMLInputElement) || !dialog.root.contains(t)) return;
  const category = t.getAttribute("data-of") || t.getAttribute("data-category");
  if (!t.hasAttribute("data-of")) for (const i of $$(`input[data-of="${category}"]`, dialog.root)) i.checked = t.checked;
  mixed(dialog.root, category);
}

function closeDialog(restore) {
  if (!dialog) return;
  const { root, back } = dialog;
  dialog = null;
  root.remove();
  if (restore) (back && back.isConnected ? back : $(SETTINGS))?.focus();
}

function onAction(action) {
  if (action === "accept-all") choose(rules().optional);
  else if (action === "reject-all") choose([]);
  else if (action === "opt-out") optOut();
  else if (action === "preferences") openDialog();
  else if (!dialog) return;
  else if (action === "close") closeDialog(true);
  else if (action === "save") {
    // Every toggle that is on; the rules module keeps the services of a
    // category on whole out of the record (core's normal form).
    const on = $$("input.consentry-toggle:checked", dialog.root);
    choose(on.map((i) => i.getAttribute("data-category") || i.getAttribute("data-service")));
  }
}

function onKey(event) {
  if (!dialog) return;
  if (event.key === "Escape") closeDialog(true);
  if (event.key !== "Tab") return;
  const items = focusables(dialog.root);
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  const inside = dialog.root.contains(active);
  if (event.shiftKey && (active === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
}

function onClick(event) {
  const t = event.target instanceof Element ? event.target : null;
  if (!t) return;
  if (!ready) {
    // The early banner's buttons: answered once the rules module is here.
    if (!t.closest(`#${BANNER} [data-consentry-action]`)) return;
    event.preventDefault();
    started?.then(() => onClick(event), () => {});
    return;
  }
  // One vocabulary: data-consentry-action="accept-all|reject-all|opt-out|
  // preferences|save|close" (data-consentry="…" too, its older name), and
  // data-consentry-load on a click-to-load notice.
  let load = t.closest("[data-consentry-load]");
  const button = t.closest("[data-consentry-action],[data-consentry]");
  const action = button && (button.getAttribute("data-consentry-action") || button.getAttribute("data-consentry"));
  // Opening and closing the dialog work from any element; a choice only
  // from trusted markup.
  if (load && !trusted(load)) load = null;
  if (!load && button && !ANYWHERE.includes(action) && !trusted(button)) return;
  if (load) {
    const s = rules();
    choose([...Object.keys(s.categories).filter((c) => s.categories[c]), load.getAttribute("data-consentry-load")]);
  } else if (button) {
    event.preventDefault();
    onAction(action);
  }
}

let listening = false;
function listen() {
  if (listening) return;
  listening = true;
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("change", onToggle);
  // The banner's and the opt-out link's forms post only without JavaScript.
  document.addEventListener("submit", (e) => e.target.closest?.(`#${BANNER},${OPTOUT}`) && e.preventDefault());
}

// The first layer before the rules module has arrived (it is the larger
// download): only for a visitor with no consent cookie and no privacy signal
// at all, when the ready policy says that such a visitor is asked (core's
// decide, run when the policy was built), and in a language the rules module
// is bound to pick (the only one, or the page's first preference exactly).
// begin() then adopts it like a server-rendered banner; a click meanwhile
// waits for the rules module. `early` is its language.
let early = null;
function showEarly(p) {
  const f = p && p.first_visit;
  if (
    ready ||
    !f ||
    f.asked !== true ||
    p.format !== READY ||
    document.readyState === "loading" ||
    document.getElementById(BANNER) ||
    locate(p)[0] ||
    where[2] === "none" ||
    navigator.globalPrivacyControl ||
    (navigator.doNotTrack ?? window.doNotTrack) != null ||
    document.cookie.split(";").some((c) => c.trim().startsWith(`${f.cookie}=`))
  )
    return;
  const langs = Object.keys(p.texts);
  const want = (languages()[0] || "").trim().toLowerCase();
  early = langs.length > 1 ? langs.find((l) => l.toLowerCase() === want) : langs[0];
  if (early) append(layerOf(p.texts[early], where[2] || f.model)), listen();
}

function begin(policy) {
  if (policy.format !== READY) throw fault(2);
  const dnt = navigator.doNotTrack ?? window.doNotTrack;
  locate(policy);
  // Only a <meta> in <head> counts: user-posted HTML lands in <body>.
  gateToken = document.head?.querySelector(`meta[name='${GATE}']`)?.content || null;
  const gpc = navigator.globalPrivacyControl === true;
  const code = wasm.start(policy.rules, document.cookie, dnt ?? "", gpc, now(), where[2] || "");
  if (code) throw fault(code);
  const lang = wasm.language(Object.keys(policy.texts).join(","), languages().join(","));
  texts = policy.texts[lang];
  if (!texts) throw fault(3);
  // Another language than the early banner's: never expected (it was
  // picked by the same rule), but the rules module's choice wins.
  if (early && early !== lang) document.getElementById(BANNER)?.remove();
  early = null;
  document.getElementById(BANNER)?.setAttribute("data-consentry-hydrated", "");
  listen();
  const s = rules();
  activate();
  placeholders();
  chrome(s);
  ready = true;
  emit("consentry:ready", publicState(s));
}

// ---------------------------------------------------------------------------
// The API

let started = null;

function policySource(options) {
  if (typeof options.policy === "string") return { json: options.policy };
  if (options.policy && typeof options.policy === "object") return { value: options.policy };
  const tag = document.querySelector("script[data-policy]");
  const url = options.policyUrl || (tag && tag.getAttribute("data-policy"));
  if (url) return { url };
  const inline = document.getElementById(POLICY);
  if (inline) return { json: inline.textContent };
  throw new Error(
    "consentry: no policy found; pass init({ policy }) or init({ policyUrl }), add data-policy to the script tag, or serve the page through ConsentLayer",
  );
}

/** Starts the banner. Resolves with the visitor's state (see get()). */
export function init(options = {}) {
  actionsIn = options.actionsIn || document.querySelector("script[data-actions-in]")?.getAttribute("data-actions-in") || actionsIn;
  const fresh = options.policy !== undefined || options.policyUrl !== undefined;
  if (started && !fresh) return started;
  let failed = false;
  const attempt = (async () => {
    const source = policySource(options);
    const policy =
      source.url === undefined
        ? source.value || JSON.parse(source.json)
        : fetch(source.url, { credentials: "same-origin" }).then((res) => {
            if (!res.ok) throw new Error(`consentry: cannot load the policy ${source.url}: HTTP ${res.status}`);
            return res.json();
          });
    // Not once the start has failed (the wasm may fail before the policy is in).
    Promise.resolve(policy).then((p) => failed || showEarly(p), () => {});
    try {
      let [, value] = await Promise.all([loadRuntime(), policy]);
      if (value && typeof value === "object" && value.format === undefined) value = await buildReady(value);
      if (document.readyState === "loading") {
        await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
      }
      begin(value);
    } catch (e) {
      // The rules module could not start: an early banner would be a dead one,
      // and the next init() (or API call) starts over.
      failed = true;
      if (early) document.getElementById(BANNER)?.remove();
      early = null;
      if (started === attempt) started = null;
      throw e;
    }
    return get();
  })();
  started = attempt;
  return started;
}

// Every action returns a Promise, before init() or after.
function whenReady(fn) {
  return (...args) => (ready ? Promise.resolve() : init()).then(() => fn(...args));
}

/** The visitor's state: { categories, services, revision, date, id, needsBanner, reason }, or null before init. */
export function get() {
  return ready ? publicState(rules()) : null;
}
export const show = whenReady(() => {
  const banner = document.getElementById(BANNER);
  if (banner) banner.hidden = false;
  else append(firstLayer(rules().model));
});
export const showPreferences = whenReady(openDialog);
export const hide = whenReady(() => {
  closeDialog(true);
  const banner = document.getElementById(BANNER);
  if (banner) banner.hidden = true;
});
/** Records { analytics: true, ga4: true, ... }: categories, or single services; what is not named (or not true) is refused. */
export const set = whenReady((choice) => {
  if (!choice || typeof choice !== "object") throw fault(13);
  const s = rules();
  const known = Object.keys({ ...s.categories, ...s.services });
  for (const id of Object.keys(choice)) {
    if (!known.includes(id)) {
      // Core's words (UnknownId), as the consent endpoint answers them.
      const list = (o) => Object.keys(o).join(", ") || "none";
      throw new Error(`consentry: unknown category or service \`${id}\` (categories: ${list(s.categories)}; services: ${list(s.services)})`);
    }
  }
  choose(Object.keys(choice).filter((id) => choice[id] === true));
});
export const acceptAll = whenReady(() => choose(rules().optional));
export const rejectAll = whenReady(() => choose([]));
/** Opts out of the sale/sharing categories (the "Do Not Sell or Share" link), keeping the rest as it is. */
export const optOutOfSale = whenReady(optOut);
export const reset = whenReady(forget);

/** Whether tags of `category` may run now (false before init). */
export const allows = (category) => ready && rules().categories[category] === true;
/** Whether the service `id` may run now: its category granted, or it alone (false before init). */
export const allowsService = (id) => ready && rules().services[id] === true;

/** Calls cb(state) after every choice (and at once, or when the banner is ready, with `{ immediate: true }`); returns a function that unsubscribes. */
export function onChange(cb, { immediate = false } = {}) {
  const handler = (event) => cb(event.detail);
  document.addEventListener("consentry:change", handler);
  if (immediate) ready ? cb(get()) : document.addEventListener("consentry:ready", handler, { once: true });
  return () => {
    document.removeEventListener("consentry:change", handler);
    document.removeEventListener("consentry:ready", handler);
  };
}

const api = { init, get, allows, allowsService, show, showPreferences, hide, set, acceptAll, rejectAll, optOutOfSale, reset, onChange };
if (typeof window !== "undefined") window.consentry = api;
export default api;

// Start on its own when the page names a policy (script tag or middleware).
if (typeof document !== "undefined" && !document.querySelector("script[data-consentry-manual]")) {
  if (document.querySelector("script[data-policy]") || document.getElementById(POLICY)) {
    init().catch((e) => console.error(e));
  }
}
