// Consentry banner loader: starts the WebAssembly banner and exposes the API.
//
// Script tag:  <script type="module" src="/consentry/consentry.js" data-policy="/policy.json"></script>
// npm:         import { init, onChange } from "consentry";  init({ policyUrl: "/policy.json" });
// Middleware:  ConsentLayer injects this loader and the policy; nothing to do.

// The glue, the wasm and the policy are requested together as soon as this
// loader runs (one round trip, not three in a row): the glue by dynamic
// import, the wasm by a fetch handed to the glue's init.
let runtime = null;
let wasm = null;
function loadRuntime() {
  if (!runtime) {
    const bytes = fetch(new URL("consentry_wasm_bg.wasm", import.meta.url));
    runtime = import("./consentry_wasm.js")
      .then(async (glue) => {
        await glue.default({ module_or_path: bytes });
        wasm = glue;
        return glue;
      })
      .catch((e) => {
        runtime = null; // a later init() tries again
        throw e;
      });
    // A failure is reported by init(); do not also report it as unhandled.
    bytes.catch(() => {});
  }
  return runtime;
}

let started = null;
let ready = false;

function policySource(options) {
  if (typeof options.policy === "string") return { json: options.policy };
  if (options.policy && typeof options.policy === "object") return { json: JSON.stringify(options.policy) };
  const tag = document.querySelector("script[data-policy]");
  const url = options.policyUrl || (tag && tag.getAttribute("data-policy"));
  if (url) return { url };
  const inline = document.getElementById("consentry-policy");
  if (inline) return { json: inline.textContent };
  throw new Error(
    "consentry: no policy found; pass init({ policy }) or init({ policyUrl }), add data-policy to the script tag, or serve the page through ConsentLayer",
  );
}

/** Starts the banner. Resolves with the visitor's state (see get()). */
export function init(options = {}) {
  const fresh = options.policy !== undefined || options.policyUrl !== undefined;
  if (started && !fresh) return started;
  started = (async () => {
    const source = policySource(options);
    const policy =
      source.json !== undefined
        ? source.json
        : fetch(source.url, { credentials: "same-origin" }).then((res) => {
            if (!res.ok) throw new Error(`consentry: cannot load the policy ${source.url}: HTTP ${res.status}`);
            return res.text();
          });
    const [, json] = await Promise.all([loadRuntime(), policy]);
    if (document.readyState === "loading") {
      await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
    }
    wasm.start(JSON.parse(json));
    ready = true;
    return wasm.get();
  })();
  return started;
}

function whenReady(fn) {
  return (...args) => (ready ? fn(...args) : init().then(() => fn(...args)));
}

/** The visitor's state: { categories, services, revision, date, id, needsBanner, reason }, or null before init. */
export function get() {
  return ready ? wasm.get() : null;
}
export const show = whenReady(() => wasm.show());
export const showPreferences = whenReady(() => wasm.showPreferences());
export const hide = whenReady(() => wasm.hide());
export const set = whenReady((choice) => wasm.set(choice));
export const acceptAll = whenReady(() => wasm.acceptAll());
export const rejectAll = whenReady(() => wasm.rejectAll());
export const reset = whenReady(() => wasm.reset());

/** Calls cb(state) after every choice; returns a function that unsubscribes. */
export function onChange(cb) {
  const handler = (event) => cb(event.detail);
  document.addEventListener("consentry:change", handler);
  return () => document.removeEventListener("consentry:change", handler);
}

const api = { init, get, show, showPreferences, hide, set, acceptAll, rejectAll, reset, onChange };
if (typeof window !== "undefined") window.consentry = api;
export default api;

// Start on its own when the page names a policy (script tag or middleware).
if (typeof document !== "undefined" && !document.querySelector("script[data-consentry-manual]")) {
  if (document.querySelector("script[data-policy]") || document.getElementById("consentry-policy")) {
    init().catch((e) => console.error(e));
  }
}
