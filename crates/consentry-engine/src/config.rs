//! What every part of the layer needs: the [`Config`] built once from the
//! [`EngineBuilder`](crate::EngineBuilder)'s settings, the per-request
//! decision, and the rule for the cookie's `Secure` attribute.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use consentry_core::{Decision, Location, Policy};

use crate::assets::Assets;
use crate::headers;
use crate::receipts::{NoReceipts, ReceiptStore};
use crate::region::RegionLookup;
use crate::rewrite::Plan;

/// When the consent cookie gets the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookie {
    /// When the request came over https (an `https` URI, `X-Forwarded-Proto:
    /// https` or `Forwarded: proto=https`). The default.
    #[default]
    Auto,
    /// Always (the site is https-only).
    Always,
    /// Never (local development over plain http).
    Never,
}

/// What happens to a page the layer cannot read, so cannot check for
/// trackers: one with an unknown or stacked `Content-Encoding`, or a partial
/// (`206`) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnreadableHtml {
    /// `502 Bad Gateway`, the reason logged at `error`: nothing ungated
    /// leaves. The default.
    #[default]
    Reject,
    /// Sent on as it is, the reason logged at `warn`. Only for a site that
    /// knows such pages carry no trackers.
    PassThrough,
}

/// Everything the layer was configured with, as set by the builder methods.
#[derive(Clone)]
pub(crate) struct Settings {
    pub policy: Policy,
    pub prefix: String,
    pub assets: Assets,
    pub receipts: Arc<dyn ReceiptStore>,
    pub gpc_last_update: String,
    pub secure: SecureCookie,
    pub inject_services: bool,
    pub server_banner: bool,
    pub unreadable_html: UnreadableHtml,
    pub consent_per_minute: u32,
    pub region: Option<RegionLookup>,
    pub max_decoded_body: u64,
}

impl Settings {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            prefix: "/consentry/".to_owned(),
            assets: Assets::builtin(),
            receipts: Arc::new(NoReceipts),
            gpc_last_update: crate::today(),
            secure: SecureCookie::Auto,
            inject_services: true,
            server_banner: true,
            unreadable_html: UnreadableHtml::Reject,
            consent_per_minute: DEFAULT_CONSENT_PER_MINUTE,
            region: None,
            max_decoded_body: crate::pipeline::DEFAULT_MAX_DECODED_BODY,
        }
    }
}

/// Consent POSTs one client may make per minute, by default (a visitor
/// makes a handful; the limit is there for floods).
pub const DEFAULT_CONSENT_PER_MINUTE: u32 = 30;

/// The consent endpoint's per-client limit: a GCRA bucket per client
/// address, `per_minute` refilled evenly, bursts of as many.
pub(crate) struct ConsentLimit {
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
    /// Whether the "no client address" warning was logged.
    warned: std::sync::atomic::AtomicBool,
}

impl ConsentLimit {
    fn new(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(n)),
            checks: AtomicU32::new(0),
            warned: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The server gave no client address, so the limit cannot apply: said
    /// once, loudly, rather than the limit silently doing nothing.
    pub(crate) fn no_client_address(&self) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "the consent endpoint's rate limit is OFF: the server gives the layer no client address. \
                 Serve with axum's `into_make_service_with_connect_info::<SocketAddr>()`, or insert \
                 `consentry_engine::ClientAddr` (re-exported by the adapters) into each request's extensions (or turn the limit off with \
                 `consent_rate_limit(0)` to silence this)"
            );
        }
    }

    /// `Ok` when `client` may post now; else how many seconds until it may.
    pub(crate) fn check(&self, client: IpAddr) -> Result<(), u64> {
        // Forget idle clients now and then, so a flood from many addresses
        // leaves no lasting memory behind.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&rate_key(client)).map_err(|not_until| {
            let wait = not_until
                .wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            wait.as_secs().max(1)
        })
    }
}

/// The key a client is counted under: an IPv4 address as it is, an IPv6
/// one by its /64 (one subscriber's network: a client holds a whole /64 and
/// could otherwise post from 2^64 addresses). An IPv4-mapped IPv6 address
/// is its IPv4 address.
pub(crate) fn rate_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The settings made ready for requests: the policy with its consent
/// endpoint, its JSON and hash, the rewriting plan. Built once per layer.
pub(crate) struct Config {
    pub policy: Policy,
    pub policy_json: Bytes,
    pub policy_hash: String,
    pub prefix: String,
    pub assets: Assets,
    pub receipts: Arc<dyn ReceiptStore>,
    pub plan: Arc<Plan>,
    pub gpc_last_update: String,
    pub secure: SecureCookie,
    pub unreadable_html: UnreadableHtml,
    pub consent_limit: Option<ConsentLimit>,
    pub region: Option<RegionLookup>,
    pub max_decoded_body: u64,
}

impl Config {
    pub(crate) fn build(settings: Settings) -> Self {
        let Settings {
            policy,
            prefix,
            assets,
            receipts,
            gpc_last_update,
            secure,
            inject_services,
            server_banner,
            unreadable_html,
            consent_per_minute,
            region,
            max_decoded_body,
        } = settings;
        let policy = policy.with_consent_endpoint(format!("{prefix}consent"));
        let json = policy.to_json();
        let policy_hash = crate::sha256_hex(json.as_bytes());
        let stylesheet = assets.url(&prefix, "consentry.css");
        let loader = assets.url(&prefix, "consentry.js");
        let plan = Plan::new(
            policy.clone(),
            stylesheet,
            loader,
            format!("{prefix}consent"),
            inject_services,
            server_banner,
            // A known region may give each visitor another model.
            region.is_some(),
        );
        Self {
            policy,
            policy_json: Bytes::from(json),
            policy_hash,
            prefix,
            assets,
            receipts,
            plan: Arc::new(plan),
            gpc_last_update,
            secure,
            unreadable_html,
            consent_limit: ConsentLimit::new(consent_per_minute),
            region,
            max_decoded_body,
        }
    }

    /// One cookie parse, one decide: shared by the service and the routes.
    pub(crate) fn decide(&self, headers: &http::HeaderMap, extensions: &http::Extensions) -> Decision {
        let consent = headers::consent(headers, &self.policy);
        // The clock matters only to a consent's age.
        let now = if consent.is_some() { crate::now() } else { 0 };
        let location = self.region.as_ref().map_or(Location::UNKNOWN, |r| r.locate(headers, extensions));
        consentry_core::decide_at(&self.policy, consent.as_ref(), headers::signals(headers), now, location)
    }

    /// Whether the consent cookie set in answer to this request is `Secure`.
    pub(crate) fn secure_cookie(&self, uri: &http::Uri, headers: &http::HeaderMap) -> bool {
        match self.secure {
            SecureCookie::Always => true,
            SecureCookie::Never => false,
            SecureCookie::Auto => headers::is_https(uri, headers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_ipv4_by_address() {
        let key = |s: &str| rate_key(s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), key("::ffff:203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }

    #[test]
    fn one_ipv6_network_shares_one_budget() {
        let limit = ConsentLimit::new(2).expect("a limit of 2 per minute");
        let addr = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, 0, last));
        assert!(limit.check(addr(1)).is_ok());
        assert!(limit.check(addr(2)).is_ok());
        assert!(limit.check(addr(3)).is_err(), "a third address of the same /64 is over the limit");
        assert!(limit.check(IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 8, 0, 0, 0, 1))).is_ok());
    }
}
