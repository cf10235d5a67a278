//! A Tower middleware that enforces cookie consent and the browser's privacy
//! signals on the server, so that what a visitor refused is never even sent.
//!
//! For every request [`ConsentService`] reads the consent cookie and the
//! `DNT` / `Sec-GPC` headers once, calls [`consentry_core::decide`], and puts
//! the [`Decision`](consentry_core::Decision) in the request extensions (with
//! the `axum` feature, handlers extract it as [`ConsentDecision`]). Then, for
//! `text/html` responses only, it rewrites the page as it streams:
//!
//! - `<script type="text/plain" data-category="analytics">` (and
//!   `data-service="ga4"`, `<iframe data-src>`) become live when granted;
//! - live scripts, frames, pixels, `srcset`s, preload/prefetch/preconnect
//!   links, `<object>`/`<embed>`, posters, `style` attributes,
//!   `<meta http-equiv=refresh>`,
//!   `<iframe srcdoc>` and inline snippets of a configured service (Matomo,
//!   GA4, GTM, or a policy pattern) become inert when it is not granted, also
//!   inside `<noscript>` — judged by the URL the browser would fetch
//!   (entities decoded, resolved against `<base href>`, case-insensitive);
//!   no need to edit the page;
//! - the policy's services are injected into `<head>` (Consent Mode v2
//!   defaults first), live or inert, with the policy JSON, the stylesheet and
//!   the banner loader;
//! - when the visitor must be asked, the banner's markup is rendered into
//!   `<body>` in the page's language, visible at first paint and usable
//!   without JavaScript.
//!
//! It adds `Vary: Cookie, DNT, Sec-GPC` and `Cache-Control: private` to
//! rewritten pages (a page rendered for one visitor's decision never reaches
//! another through a shared cache) and `Tk` to every response, and serves its routes under a prefix (default `/consentry/`):
//! `policy.json`, `POST consent`, `receipt/{id}`, banner assets, and
//! `/.well-known/gpc.json`.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get, response::Html};
//! use consentry_core::Policy;
//! use consentry_tower::ConsentLayer;
//!
//! let policy = Policy::from_json(r#"{
//!     "revision": 1,
//!     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }],
//!     "services": [{ "id": "ga4", "kind": "ga4", "category": "analytics",
//!                    "config": { "measurement_id": "G-AB12CD34" } }]
//! }"#).expect("valid policy");
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { Html("<!doctype html><html lang=\"en\"><head></head><body>Hi</body></html>") }))
//!     .layer(ConsentLayer::new(policy));
//! ```
//!
//! # Which responses are rewritten
//!
//! Every response that can carry a page is read the way the browser will
//! read it, and gated; nothing that could be a page leaves ungated:
//!
//! - `text/html` in any charset: ASCII-compatible ones are rewritten in
//!   place; UTF-16 (by its label or its byte-order mark, which outranks the
//!   label as in browsers) is decoded and sent as UTF-8.
//! - `application/xhtml+xml`: the same, with XML's self-closed elements
//!   (`<script src="…"/>`, which an HTML parser would read as the start of
//!   a script swallowing the rest of the page) written with an end tag
//!   first, markup inside `<title>`, `<iframe>`, `<style>`… gated (it is
//!   markup in XML), and everything injected well-formed XML. A document
//!   type with an internal subset (entities the layer cannot expand) or a
//!   raw-text element name in upper case ends the page in an error.
//! - A `Content-Encoding` of `gzip`, `x-gzip`, `deflate`, `br` or `zstd` is
//!   decoded and the rewritten page sent uncompressed: put a compression
//!   layer *outside* this one to compress it (its order no longer matters
//!   for safety, only for size). Requests for documents (`Sec-Fetch-Dest:
//!   document`/`iframe`, or an `Accept` naming `text/html`) reach the inner
//!   service with `Accept-Encoding: identity` and without `Range`, so a
//!   `ServeDir` with precompressed files or an inner compression layer does
//!   no needless work; stylesheets and scripts still go out precompressed.
//! - No `Content-Type` (or `unknown/unknown`) and no `X-Content-Type-Options:
//!   nosniff`: the first bytes are sniffed as a browser does (WHATWG MIME
//!   Sniffing) and the body is rewritten when they look like HTML.
//! - A page the layer cannot read — an unknown or stacked
//!   `Content-Encoding`, a `206` partial page — is refused with `502 Bad
//!   Gateway` and the reason logged ([`UnreadableHtml`] can let it through).
//!
//! Everything else passes through byte-identical: other types, `HEAD`
//! requests, `204`/`304` responses.
//!
//! # Content Security Policy
//!
//! If the inner service inserts a [`CspNonce`] into the *response*
//! extensions, every script Consentry injects carries `nonce="…"`.
//!
//! # Limits
//!
//! Rewriting streams: memory per response is one body chunk (a compressed
//! body is decoded 4 KiB of input at a time) plus lol_html's buffer, capped
//! at 16 MiB: a single tag bigger than that ends the response with an error
//! rather than passing it unchecked. An inline script is held back up to
//! 1 MiB while looking for tracker calls; a longer one that arrives in
//! pieces is judged on that prefix, and made inert (`type="text/plain"
//! data-consentry="unchecked"`, a warning logged) when the prefix names no
//! service — a call further on could not be caught — unless every service
//! may run anyway.

mod body;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod layer;
mod service;

pub use body::ConsentBody;
#[cfg(feature = "axum")]
pub use extract::{ConsentDecision, MissingConsentLayer};
pub use future::ResponseFuture;
pub use layer::ConsentLayer;
pub use service::ConsentService;

// The engine's types a Tower user configures the layer with, here under
// the names this crate has always had them.
#[cfg(feature = "geoip")]
pub use consentry_engine::GeoIp;
pub use consentry_engine::{
    Assets, BUILTIN_CSS, BoxError, ClientAddr, CspNonce, DEFAULT_CONSENT_PER_MINUTE,
    DEFAULT_MAX_DECODED_BODY, DNT, Engine, EngineBuilder, MAX_CONSENT_BODY, MemoryStore, NoReceipts,
    RECEIPT_STORE_UNAVAILABLE, ReceiptError, ReceiptStore, RegionHeaders, RewriteError, SEC_GPC,
    SecureCookie, TK, UnreadableHtml, receipts, safe_return,
};

/// Internal: the fuzz targets' entry points. Not API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use consentry_engine::fuzzing;
