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

mod assets;
mod body;
mod config;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod headers;
mod layer;
mod pipeline;
pub mod receipts;
mod region;
mod rewrite;
mod routes;
mod service;

pub use assets::{Assets, BUILTIN_CSS};
pub use body::ConsentBody;
pub use config::{DEFAULT_CONSENT_PER_MINUTE, SecureCookie, UnreadableHtml};
#[cfg(feature = "axum")]
pub use extract::{ConsentDecision, MissingConsentLayer};
pub use future::ResponseFuture;
pub use headers::{DNT, SEC_GPC, TK};
pub use layer::ConsentLayer;
pub use pipeline::DEFAULT_MAX_DECODED_BODY;
pub use receipts::{MemoryStore, NoReceipts, ReceiptError, ReceiptStore};
#[cfg(feature = "geoip")]
pub use region::GeoIp;
pub use region::RegionHeaders;
pub use rewrite::RewriteError;
pub use routes::{MAX_CONSENT_BODY, RECEIPT_STORE_UNAVAILABLE, safe_return};
pub use service::ConsentService;

/// Internal checks for the cargo-fuzz targets (feature `fuzzing`); not API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// The rewriter's pre-scan against lol_html alone on one page cut at
    /// `cuts`: `Err` (with both outputs) when they differ.
    pub fn prescan_differential(html: &[u8], cuts: &[usize], consent: bool) -> Result<(), String> {
        crate::rewrite::prescan_differential(html, cuts, consent)
    }
}

/// Errors of the response body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A CSP nonce for the scripts Consentry injects. Insert it into the
/// response extensions from the inner service (the same value as in the
/// page's `Content-Security-Policy: script-src 'nonce-…'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

/// The address of the client a request came from, put in the request's
/// extensions by the server (e.g. from the accepted connection, or from a
/// trusted proxy's `X-Forwarded-For`): the consent endpoint's rate limit is
/// kept per client address. `consentry serve` inserts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Now, in Unix seconds.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Today's UTC date, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let days = (now() / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_plausible_iso_date() {
        let t = super::today();
        assert_eq!(t.len(), 10);
        assert!(t.as_str() >= "2025-01-01", "{t}");
    }
}
