//! What every part of the layer needs: the [`Config`] built once from the
//! [`ConsentLayer`](crate::ConsentLayer)'s settings, the per-request
//! decision, and the rule for the cookie's `Secure` attribute.

use std::sync::Arc;

use bytes::Bytes;
use consentry_core::{Decision, Policy};

use crate::assets::Assets;
use crate::headers;
use crate::receipts::{NoReceipts, ReceiptStore};
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
        }
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
        }
    }

    /// One cookie parse, one decide: shared by the service and the routes.
    pub(crate) fn decide(&self, headers: &http::HeaderMap) -> Decision {
        let consent = headers::consent(headers, &self.policy);
        // The clock matters only to a consent's age.
        let now = if consent.is_some() { crate::now() } else { 0 };
        consentry_core::decide(&self.policy, consent.as_ref(), headers::signals(headers), now)
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
