//! The framework-free engine of Consentry's server side: everything the
//! middleware does, on `http` types and `bytes::Bytes`, for any Rust web
//! server to host.
//!
//! A host adapter (the Tower layer in `consentry-tower`, which `consentry
//! serve` runs; any other server's middleware) does three things per
//! request with an [`Engine`]:
//!
//! 1. [`Engine::route`] and [`Engine::serve`]: a request for one of Consentry's own routes
//!    (`policy.json`, `POST consent`, `receipt/{id}`, the banner's assets,
//!    `/.well-known/gpc.json`, `health`) is answered here;
//! 2. otherwise [`Engine::request`] decides from the request's head (consent
//!    cookie, `DNT`, `Sec-GPC`, region), puts the
//!    [`Decision`](consentry_core::Decision) in the request's extensions and
//!    prepares a page request (no `Range`, `Accept-Encoding: identity`);
//! 3. the app's response head goes through [`Exchange::response`], which
//!    sets the headers (`Tk`, `Vary`, caching, `ETag`) and says what to do
//!    with the body: keep it, replace it, or stream it through a
//!    [`BodyRewrite`] — decode, gate, inject, render the banner — one chunk
//!    of `Bytes` at a time, with flat memory.
//!
//! Receipt stores ([`receipts`]) and region lookup ([`RegionHeaders`],
//! `GeoIp`) live here too. Nothing here depends on Tower, axum or actix.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use consentry_core::Policy;
//! use consentry_engine::{BodyPlan, Engine};
//!
//! let policy = Policy::from_json(r#"{
//!     "revision": 1,
//!     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }]
//! }"#).expect("valid policy");
//! let engine = Engine::new(policy);
//!
//! let mut req = http::Request::get("/").header("accept", "text/html").body(()).expect("request");
//! assert!(engine.route(&req).is_none(), "not one of Consentry's own routes");
//! let exchange = engine.request(&mut req);
//! // … the app answers `req` …
//! let res = http::Response::builder().header("content-type", "text/html").body(()).expect("response");
//! let (mut head, ()) = res.into_parts();
//! let mut page = Vec::new();
//! if let BodyPlan::Rewrite(mut rewrite) = exchange.response(&mut head) {
//!     rewrite.give(Bytes::from_static(b"<!doctype html><html><head></head><body>Hi</body></html>"));
//!     while let Some(piece) = rewrite.next_piece().expect("rewrites") {
//!         page.extend_from_slice(&piece);
//!     }
//!     page.extend_from_slice(&rewrite.end().expect("ends"));
//! }
//! assert!(String::from_utf8_lossy(&page).contains("consentry"));
//! ```

mod adapter;
mod assets;
mod config;
mod engine;
mod headers;
mod pipeline;
pub mod receipts;
mod region;
mod rewrite;
mod routes;
mod stream;

pub use assets::{Assets, BUILTIN_CSS};
pub use config::{DEFAULT_CONSENT_PER_MINUTE, SecureCookie, UnreadableHtml};
pub use engine::{BodyPlan, Engine, EngineBuilder, Exchange, OwnRoute, Route};
pub use headers::{DNT, SEC_GPC, TK};
pub use pipeline::DEFAULT_MAX_DECODED_BODY;
pub use receipts::{MemoryStore, NoReceipts, ReceiptError, ReceiptStore};
#[cfg(feature = "geoip")]
pub use region::GeoIp;
pub use region::RegionHeaders;
pub use rewrite::RewriteError;
pub use routes::{MAX_CONSENT_BODY, RECEIPT_STORE_UNAVAILABLE, safe_return};
pub use stream::BodyRewrite;

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

impl ClientAddr {
    /// The client a request came from, as the server told the engine.
    pub fn of(extensions: &http::Extensions) -> Option<std::net::IpAddr> {
        extensions.get::<Self>().map(|c| c.0)
    }
}

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
