//! [`ConsentLayer`] and its builder.

use std::sync::Arc;

use bytes::Bytes;
use consentry_core::Policy;
use tower_layer::Layer;

use crate::assets::Assets;
use crate::receipts::{NoReceipts, ReceiptStore};
use crate::rewrite::Plan;
use crate::service::ConsentService;

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

/// Applies a consent policy to every request of the wrapped service.
///
/// See the [crate documentation](crate) for what it does and an example.
#[derive(Clone)]
pub struct ConsentLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for ConsentLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentLayer")
            .field("prefix", &self.config.prefix)
            .field("revision", &self.config.policy.revision())
            .field("inject_services", &self.config.inject_services)
            .field("server_banner", &self.config.server_banner)
            .finish_non_exhaustive()
    }
}

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
    pub inject_services: bool,
    pub server_banner: bool,
    pub unreadable_html: UnreadableHtml,
}

impl ConsentLayer {
    /// A layer enforcing `policy` with the defaults: routes under
    /// `/consentry/`, configured services injected into `<head>`, the banner
    /// rendered on the server when the visitor must be asked, built-in
    /// stylesheet only (no banner script until [`assets`](Self::assets) is
    /// given), receipts not stored.
    pub fn new(policy: Policy) -> Self {
        Self::from_parts(Parts {
            policy,
            prefix: "/consentry/".to_owned(),
            assets: Assets::builtin(),
            receipts: Arc::new(NoReceipts),
            gpc_last_update: crate::today(),
            secure: SecureCookie::Auto,
            inject_services: true,
            server_banner: true,
            unreadable_html: UnreadableHtml::Reject,
        })
    }

    /// The builder methods change one part and build the configuration again
    /// (start-up work, never per request).
    fn rebuild(self, f: impl FnOnce(&mut Parts)) -> Self {
        let c = &self.config;
        let mut p = Parts {
            policy: c.policy.clone(),
            prefix: c.prefix.clone(),
            assets: c.assets.clone(),
            receipts: Arc::clone(&c.receipts),
            gpc_last_update: c.gpc_last_update.clone(),
            secure: c.secure,
            inject_services: c.inject_services,
            server_banner: c.server_banner,
            unreadable_html: c.unreadable_html,
        };
        f(&mut p);
        Self::from_parts(p)
    }

    fn from_parts(p: Parts) -> Self {
        Self { config: Arc::new(build(p)) }
    }

    /// Path under which Consentry serves `policy.json`, `consent`, the banner
    /// assets and receipts. A leading and trailing `/` are added when
    /// missing. Default `/consentry/`.
    pub fn prefix(self, prefix: impl AsRef<str>) -> Self {
        let mut p = prefix.as_ref().trim_matches('/').to_owned();
        p = if p.is_empty() { "/".to_owned() } else { format!("/{p}/") };
        self.rebuild(|parts| parts.prefix = p)
    }

    /// Where receipts of choices made through the consent endpoint are
    /// stored. Default: not stored (the endpoint answers `"receipt": false`).
    pub fn receipts(self, store: impl ReceiptStore) -> Self {
        let store: Arc<dyn ReceiptStore> = Arc::new(store);
        self.rebuild(|p| p.receipts = store)
    }

    /// The banner's browser files (`consentry.js`, its `.wasm`,
    /// `consentry.css`), e.g. [`Assets::from_dir("www/dist")`](Assets::from_dir).
    /// With `consentry.js` present, every rewritten page loads it. Default:
    /// the built-in stylesheet only.
    pub fn assets(self, assets: Assets) -> Self {
        self.rebuild(|p| p.assets = assets)
    }

    /// Whether the policy's services (Matomo, GA4, GTM, custom `src`) are
    /// injected into `<head>`, live or inert. Turn off when the pages already
    /// carry their own tags (they are still gated). Default `true`.
    pub fn inject_services(self, inject: bool) -> Self {
        self.rebuild(|p| p.inject_services = inject)
    }

    /// Whether the banner's markup is rendered into `<body>` when the visitor
    /// must be asked, so it shows at first paint (and works without
    /// JavaScript). Default `true`.
    pub fn server_banner(self, render: bool) -> Self {
        self.rebuild(|p| p.server_banner = render)
    }

    /// `lastUpdate` of `/.well-known/gpc.json` (`YYYY-MM-DD`). Default: the
    /// day the layer was built.
    pub fn gpc_last_update(self, date: impl Into<String>) -> Self {
        let date = date.into();
        self.rebuild(|p| p.gpc_last_update = date)
    }

    /// When the consent cookie is `Secure`. Default [`SecureCookie::Auto`].
    pub fn secure_cookie(self, secure: SecureCookie) -> Self {
        self.rebuild(|p| p.secure = secure)
    }

    /// What happens to a page the layer cannot read (an unknown or stacked
    /// `Content-Encoding`, a `206` partial page). Default
    /// [`UnreadableHtml::Reject`]: `502`, so nothing leaves ungated.
    pub fn unreadable_html(self, what: UnreadableHtml) -> Self {
        self.rebuild(|p| p.unreadable_html = what)
    }

    /// The policy as the banner receives it.
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }
}

struct Parts {
    policy: Policy,
    prefix: String,
    assets: Assets,
    receipts: Arc<dyn ReceiptStore>,
    gpc_last_update: String,
    secure: SecureCookie,
    inject_services: bool,
    server_banner: bool,
    unreadable_html: UnreadableHtml,
}

fn build(p: Parts) -> Config {
    let Parts {
        policy,
        prefix,
        assets,
        receipts,
        gpc_last_update,
        secure,
        inject_services,
        server_banner,
        unreadable_html,
    } = p;
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
    );
    Config {
        policy,
        policy_json: Bytes::from(json),
        policy_hash,
        prefix,
        assets,
        receipts,
        plan: Arc::new(plan),
        gpc_last_update,
        secure,
        inject_services,
        server_banner,
        unreadable_html,
    }
}

impl<S> Layer<S> for ConsentLayer {
    type Service = ConsentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentService { inner, config: Arc::clone(&self.config) }
    }
}
