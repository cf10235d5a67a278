//! An actix-web middleware that enforces cookie consent and the browser's
//! privacy signals on the server, so that what a visitor refused is never
//! even sent.
//!
//! It does exactly what `consentry-tower`'s `ConsentLayer` does — both drive
//! the same [`Engine`] — with actix-web's types:
//!
//! - for every request, the consent cookie, `DNT`, `Sec-GPC` and the region
//!   are read once and the [`Decision`](consentry_core::Decision) put in the
//!   request's extensions (handlers extract it as [`ConsentDecision`]);
//! - pages are rewritten as they stream: trackers the visitor has not
//!   granted made inert, granted ones switched on, the policy's services and
//!   the banner injected, the banner's markup rendered on the server;
//! - `Vary`, `Cache-Control: private` and a per-decision `ETag` on pages,
//!   `Tk` on every response;
//! - Consentry's own routes under the prefix (default `/consentry/`):
//!   `policy.json`, `POST consent` (with receipts, if a store is set),
//!   `receipt/{id}`, the banner's assets, and `/.well-known/gpc.json`.
//!
//! A handler's error reaches the middleware as its response (actix-web
//! renders `ResponseError`s first), so an error page is gated like any other
//! page.
//!
//! # Example
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use consentry_actix::{Consent, ConsentDecision, RegionHeaders};
//! use consentry_core::Policy;
//!
//! async fn page(decision: ConsentDecision) -> HttpResponse {
//!     HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
//!         "<!doctype html><html lang=\"en\"><head></head><body>analytics: {}</body></html>",
//!         decision.allows("analytics")
//!     ))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let policy = Policy::from_json(&std::fs::read_to_string("policy.json")?)
//!         .map_err(std::io::Error::other)?;
//!     // Built once, outside the closure: every worker shares one engine.
//!     let consent = Consent::new(policy).region_headers(RegionHeaders::cloudflare());
//!     HttpServer::new(move || App::new().wrap(consent.clone()).route("/", web::get().to(page)))
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await
//! }
//! ```
//!
//! Everything configurable (prefix, receipts, assets, regions, the cookie's
//! `Secure`, limits) is a builder method of [`Consent`], the same as
//! `consentry-tower`'s `ConsentLayer` (see its documentation for which
//! responses are rewritten and how); `Consent::from(EngineBuilder)` takes
//! settings made for another adapter.

mod body;
mod convert;
mod extract;
mod middleware;

pub use body::{BodyError, ConsentBody};
pub use extract::{ConsentDecision, MissingConsent};
pub use middleware::{Consent, ConsentFuture, ConsentMiddleware};

#[cfg(feature = "geoip")]
pub use consentry_engine::GeoIp;
pub use consentry_engine::{
    Assets, ClientAddr, CspNonce, DEFAULT_CONSENT_PER_MINUTE, DEFAULT_MAX_DECODED_BODY, Engine,
    EngineBuilder, MAX_CONSENT_BODY, MemoryStore, NoReceipts, ReceiptStore, RegionHeaders, SecureCookie,
    UnreadableHtml, receipts,
};
