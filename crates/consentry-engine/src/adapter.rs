//! [`adapter_settings!`](crate::adapter_settings): the builder methods every
//! adapter's middleware type has, written once.

/// Writes an adapter's builder methods (`prefix`, `receipts`, `assets`, …),
/// each recording one setting on the [`EngineBuilder`](crate::EngineBuilder)
/// through the type's own `fn set(self, f: impl FnOnce(EngineBuilder) ->
/// EngineBuilder) -> Self`. consentry-tower's `ConsentLayer` and
/// consentry-actix's `Consent` both expand it inside their `impl` block, so
/// their settings, defaults and documentation cannot drift apart.
///
/// The expanding crate must re-export `Assets`, `ReceiptStore`,
/// `SecureCookie`, `UnreadableHtml`, `RegionHeaders`, `ClientAddr`,
/// `DEFAULT_MAX_DECODED_BODY` and `DEFAULT_CONSENT_PER_MINUTE` at its root
/// (the documentation links to them there) and have a `geoip` feature that
/// turns on this crate's.
#[macro_export]
macro_rules! adapter_settings {
    () => {
        /// Path under which Consentry serves `policy.json`, `consent`, the
        /// banner assets and receipts. A leading and trailing `/` are added
        /// when missing. Default `/consentry/`.
        pub fn prefix(self, prefix: impl AsRef<str>) -> Self {
            self.set(|s| s.prefix(prefix))
        }

        /// Where receipts of choices made through the consent endpoint are
        /// stored. Default: not stored (the endpoint answers `"receipt": false`).
        pub fn receipts(self, store: impl $crate::ReceiptStore) -> Self {
            self.set(|s| s.receipts(store))
        }

        /// The banner's browser files (`consentry.js`, its `.wasm`,
        /// `consentry.css`), e.g. [`Assets::from_dir("www/dist")`](crate::Assets::from_dir).
        /// With `consentry.js` present, every rewritten page loads it.
        /// Default: the built-in stylesheet only.
        pub fn assets(self, assets: $crate::Assets) -> Self {
            self.set(|s| s.assets(assets))
        }

        /// Whether the policy's services (Matomo, GA4, GTM, custom `src`) are
        /// injected into `<head>`, live or inert. Turn off when the pages
        /// already carry their own tags (they are still gated). Default `true`.
        pub fn inject_services(self, inject: bool) -> Self {
            self.set(|s| s.inject_services(inject))
        }

        /// Whether the banner's markup is rendered into `<body>` when the
        /// visitor must be asked, so it shows at first paint (and works
        /// without JavaScript). Default `true`.
        pub fn server_banner(self, render: bool) -> Self {
            self.set(|s| s.server_banner(render))
        }

        /// `lastUpdate` of `/.well-known/gpc.json` (`YYYY-MM-DD`). Default:
        /// the day the middleware was built.
        pub fn gpc_last_update(self, date: impl Into<String>) -> Self {
            self.set(|s| s.gpc_last_update(date))
        }

        /// When the consent cookie is `Secure`. Default
        /// [`SecureCookie::Auto`](crate::SecureCookie::Auto).
        pub fn secure_cookie(self, secure: $crate::SecureCookie) -> Self {
            self.set(|s| s.secure_cookie(secure))
        }

        /// What happens to a page the middleware cannot read (an unknown or
        /// stacked `Content-Encoding`, a `206` partial page). Default
        /// [`UnreadableHtml::Reject`](crate::UnreadableHtml::Reject): `502`,
        /// so nothing leaves ungated.
        pub fn unreadable_html(self, what: $crate::UnreadableHtml) -> Self {
            self.set(|s| s.unreadable_html(what))
        }

        /// The most a compressed page may decode to (`gzip`, `deflate`, `br`,
        /// `zstd`), in bytes. A few kilobytes of brotli or zstd can stand
        /// for gigabytes: the page is decoded a bounded step at a time
        /// whatever the limit, and past it the response ends with an error
        /// (logged), as for any page that cannot be read whole. Default
        /// [`DEFAULT_MAX_DECODED_BODY`](crate::DEFAULT_MAX_DECODED_BODY), 256 MiB.
        pub fn max_decoded_body(self, bytes: u64) -> Self {
            self.set(|s| s.max_decoded_body(bytes))
        }

        /// Consent POSTs one client may make per minute (bursts of as many,
        /// refilled evenly); more get `429 Too Many Requests` with
        /// `Retry-After`, and nothing is stored. Default
        /// [`DEFAULT_CONSENT_PER_MINUTE`](crate::DEFAULT_CONSENT_PER_MINUTE);
        /// `0` turns the limit off. The client is the
        /// [`ClientAddr`](crate::ClientAddr) in the request's extensions
        /// (set by the server or an earlier middleware), else what the
        /// adapter knows of the peer (axum's `ConnectInfo<SocketAddr>` with
        /// consentry-tower's feature `axum`, the connection's peer address
        /// in actix-web); a request with neither is not limited, and the
        /// first one logs an error saying so.
        pub fn consent_rate_limit(self, per_minute: u32) -> Self {
            self.set(|s| s.consent_rate_limit(per_minute))
        }

        /// Where the visitor's region comes from, for the policy's `regions`
        /// (which consent model applies: opt-in, opt-out, notice, none): the
        /// headers your CDN sets, e.g.
        /// [`RegionHeaders::cloudflare()`](crate::RegionHeaders::cloudflare).
        /// Default: none, so the region is unknown and `regions.default`
        /// applies to everyone (`opt-in` unless the policy says otherwise). A
        /// header nobody named is never read: a visitor sending
        /// `CF-IPCountry: US` to a server that did not name it stays where
        /// the default puts them.
        pub fn region_headers(self, headers: $crate::RegionHeaders) -> Self {
            self.set(|s| s.region_headers(headers))
        }

        /// The visitor's region from a MaxMind DB file you provide, looked up
        /// by the client's address (see `GeoIp` for where that address comes
        /// from). Replaces [`region_headers`](Self::region_headers). Feature
        /// `geoip`.
        #[cfg(feature = "geoip")]
        pub fn region_geoip(self, db: $crate::GeoIp) -> Self {
            self.set(|s| s.region_geoip(db))
        }
    };
}
