//! [`ConsentLayer`] and its builder.

use std::sync::{Arc, OnceLock};

use consentry_core::Policy;
use tower_layer::Layer;

use consentry_engine::{
    Assets, Engine, EngineBuilder, ReceiptStore, RegionHeaders, SecureCookie, UnreadableHtml,
};

use crate::service::ConsentService;

/// Applies a consent policy to every request of the wrapped service.
///
/// See the [crate documentation](crate) for what it does and an example.
/// The builder methods only record a setting; the policy, its JSON and the
/// rewriting plan are prepared once, when the layer first wraps a service,
/// and shared by every clone of the layer (axum's `Router::layer` clones it
/// per route; a server may clone it per connection), so they also share one
/// consent-endpoint rate limit.
#[derive(Clone)]
pub struct ConsentLayer {
    settings: EngineBuilder,
    engine: Arc<OnceLock<Engine>>,
}

impl std::fmt::Debug for ConsentLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentLayer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl ConsentLayer {
    /// A layer enforcing `policy` with the defaults: routes under
    /// `/consentry/`, configured services injected into `<head>`, the banner
    /// rendered on the server when the visitor must be asked, built-in
    /// stylesheet only (no banner script until [`assets`](Self::assets) is
    /// given), receipts not stored.
    pub fn new(policy: Policy) -> Self {
        Self { settings: EngineBuilder::new(policy), engine: Arc::new(OnceLock::new()) }
    }

    /// Changes one setting (a configuration already prepared is dropped).
    fn set(mut self, f: impl FnOnce(EngineBuilder) -> EngineBuilder) -> Self {
        self.settings = f(self.settings);
        self.engine = Arc::new(OnceLock::new());
        self
    }

    fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| self.settings.clone().build())
    }

    /// Path under which Consentry serves `policy.json`, `consent`, the banner
    /// assets and receipts. A leading and trailing `/` are added when
    /// missing. Default `/consentry/`.
    pub fn prefix(self, prefix: impl AsRef<str>) -> Self {
        self.set(|s| s.prefix(prefix))
    }

    /// Where receipts of choices made through the consent endpoint are
    /// stored. Default: not stored (the endpoint answers `"receipt": false`).
    pub fn receipts(self, store: impl ReceiptStore) -> Self {
        self.set(|s| s.receipts(store))
    }

    /// The banner's browser files (`consentry.js`, its `.wasm`,
    /// `consentry.css`), e.g. [`Assets::from_dir("www/dist")`](Assets::from_dir).
    /// With `consentry.js` present, every rewritten page loads it. Default:
    /// the built-in stylesheet only.
    pub fn assets(self, assets: Assets) -> Self {
        self.set(|s| s.assets(assets))
    }

    /// Whether the policy's services (Matomo, GA4, GTM, custom `src`) are
    /// injected into `<head>`, live or inert. Turn off when the pages already
    /// carry their own tags (they are still gated). Default `true`.
    pub fn inject_services(self, inject: bool) -> Self {
        self.set(|s| s.inject_services(inject))
    }

    /// Whether the banner's markup is rendered into `<body>` when the visitor
    /// must be asked, so it shows at first paint (and works without
    /// JavaScript). Default `true`.
    pub fn server_banner(self, render: bool) -> Self {
        self.set(|s| s.server_banner(render))
    }

    /// `lastUpdate` of `/.well-known/gpc.json` (`YYYY-MM-DD`). Default: the
    /// day the layer was built.
    pub fn gpc_last_update(self, date: impl Into<String>) -> Self {
        self.set(|s| s.gpc_last_update(date))
    }

    /// When the consent cookie is `Secure`. Default [`SecureCookie::Auto`].
    pub fn secure_cookie(self, secure: SecureCookie) -> Self {
        self.set(|s| s.secure_cookie(secure))
    }

    /// What happens to a page the layer cannot read (an unknown or stacked
    /// `Content-Encoding`, a `206` partial page). Default
    /// [`UnreadableHtml::Reject`]: `502`, so nothing leaves ungated.
    pub fn unreadable_html(self, what: UnreadableHtml) -> Self {
        self.set(|s| s.unreadable_html(what))
    }

    /// The most a compressed page may decode to (`gzip`, `deflate`, `br`,
    /// `zstd`), in bytes. A few kilobytes of brotli or zstd can stand for
    /// gigabytes: the layer decodes a bounded step at a time whatever the
    /// limit, and past it ends the response with an error (logged), as for
    /// any page it cannot read whole. Default
    /// [`DEFAULT_MAX_DECODED_BODY`](crate::DEFAULT_MAX_DECODED_BODY), 256 MiB.
    pub fn max_decoded_body(self, bytes: u64) -> Self {
        self.set(|s| s.max_decoded_body(bytes))
    }

    /// Consent POSTs one client may make per minute (bursts of as many,
    /// refilled evenly); more get `429 Too Many Requests` with `Retry-After`,
    /// and nothing is stored. Default
    /// [`DEFAULT_CONSENT_PER_MINUTE`](crate::DEFAULT_CONSENT_PER_MINUTE); `0`
    /// turns the limit off. The client is the [`ClientAddr`](crate::ClientAddr)
    /// the server put in the request's extensions, else (feature `axum`)
    /// axum's `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info`);
    /// a request with neither is not limited, and the first one logs an
    /// error saying so.
    pub fn consent_rate_limit(self, per_minute: u32) -> Self {
        self.set(|s| s.consent_rate_limit(per_minute))
    }

    /// Where the visitor's region comes from, for the policy's `regions`
    /// (which consent model applies: opt-in, opt-out, notice, none): the
    /// headers your CDN sets, e.g. [`RegionHeaders::cloudflare()`]. Default:
    /// none, so the region is unknown and `regions.default` applies to
    /// everyone (`opt-in` unless the policy says otherwise). A header
    /// nobody named is never read: a visitor sending `CF-IPCountry: US` to
    /// a server that did not name it stays where the default puts them.
    pub fn region_headers(self, headers: RegionHeaders) -> Self {
        self.set(|s| s.region_headers(headers))
    }

    /// The visitor's region from a MaxMind DB file you provide, looked up
    /// by the client's address (see [`GeoIp`](crate::GeoIp) for where that
    /// address comes from). Replaces [`region_headers`](Self::region_headers).
    /// Feature `geoip`.
    #[cfg(feature = "geoip")]
    pub fn region_geoip(self, db: crate::GeoIp) -> Self {
        self.set(|s| s.region_geoip(db))
    }

    /// The policy as the banner receives it (with its consent endpoint).
    pub fn policy(&self) -> &Policy {
        self.engine().policy()
    }
}

impl<S> Layer<S> for ConsentLayer {
    type Service = ConsentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentService { inner, engine: self.engine().clone() }
    }
}
