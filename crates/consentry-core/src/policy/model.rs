//! The policy's model: categories, services and their settings, and what a
//! validated [`Policy`] answers. Built only by the reader and the validator
//! (`read.rs`, `validate.rs`), through `Policy::from_json`.

use crate::prelude::*;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use serde::Serialize;

use crate::error::UnknownId;
use crate::pattern::Glob;
use crate::region::Regions;
use crate::texts::{self, ResolvedTexts, Texts};

pub use crate::limits::{MAX_AGE_DAYS_LIMIT, MAX_CATEGORIES, MAX_ID_LEN, MAX_SERVICES};

/// A validated consent policy.
///
/// Cheap to clone: the category and service tables are shared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub(super) revision: u32,
    pub(super) language: String,
    pub(super) cookie: CookieSettings,
    pub(super) signals: SignalPolicy,
    /// Serialised as the two fields `categories` and `services`.
    #[serde(flatten, serialize_with = "ser_catalog")]
    pub(super) catalog: Arc<Catalog>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) consent_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Regions::is_opt_in_everywhere")]
    pub(super) regions: Regions,
    pub(super) texts: BTreeMap<String, Texts>,
    /// What the policy says of each service's cookies (written back into
    /// `services[].cookies` by [`Policy::to_json`]).
    #[serde(skip)]
    pub(super) cookie_info: Vec<CookieInfo>,
}

/// What a policy says of one cookie of a service: written in
/// `services[].cookies` as an object (`{"name": "_ga", "provider": "Google",
/// "purpose": "…", "lifetime": "2 years"}`) instead of a plain name; the
/// dialog shows it in the service's cookie table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieInfo {
    /// The service.
    #[serde(skip)]
    pub service: String,
    /// The cookie's name (or pattern), as in the service's `cookies`.
    pub name: String,
    /// Who sets it, when not the service itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "LocalText::is_empty")]
    pub purpose: LocalText,
    /// How long it is kept, as people say it ("13 months", "session").
    #[serde(skip_serializing_if = "LocalText::is_empty")]
    pub lifetime: LocalText,
}

/// A text given once, or per language (`{"en": "…", "fr": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(untagged)]
pub enum LocalText {
    /// Not given.
    #[default]
    None,
    /// The same in every language.
    Any(String),
    /// Per language tag.
    PerLanguage(BTreeMap<String, String>),
}

impl LocalText {
    /// Whether nothing was given.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }

    /// The text for `lang` (its primary language too), else the policy's
    /// default language's, else any.
    pub fn get(&self, lang: &str, default: &str) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Any(s) => Some(s),
            Self::PerLanguage(m) => {
                let primary = lang.split('-').next().unwrap_or(lang);
                m.get(lang)
                    .or_else(|| m.get(primary))
                    .or_else(|| m.get(default))
                    .or_else(|| m.values().next())
                    .map(String::as_str)
            }
        }
    }
}

/// The category and service tables, shared between a [`Policy`] and every
/// [`Decision`](crate::Decision) made from it.
#[derive(Debug, PartialEq)]
pub(crate) struct Catalog {
    pub(crate) categories: Vec<Category>,
    pub(crate) services: Vec<Service>,
}

fn ser_catalog<S: serde::Serializer>(c: &Arc<Catalog>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("categories", &c.categories)?;
    map.serialize_entry("services", &c.services)?;
    map.end()
}

/// Where and for how long the consent cookie is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieSettings {
    /// Cookie name. Default `consentry`.
    pub name: String,
    /// How long a choice stays valid, in days (1 to 395). Default 180.
    pub max_age_days: u32,
    /// `Domain` attribute, e.g. `example.org` to share the choice with
    /// subdomains. Default none (host-only cookie).
    pub domain: Option<String>,
    /// `Path` attribute. Default `/`.
    pub path: String,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self { name: "consentry".to_owned(), max_age_days: 180, domain: None, path: "/".to_owned() }
    }
}

impl CookieSettings {
    /// `max_age_days` in seconds.
    pub fn max_age_seconds(&self) -> u64 {
        u64::from(self.max_age_days) * 86_400
    }

    /// The `Set-Cookie` value (also what the browser writes to
    /// `document.cookie`) that stores `value` as the consent cookie:
    /// `SameSite=Lax`, the policy's path, domain and lifetime, `Secure` on
    /// https.
    ///
    /// ```
    /// let c = consentry_core::CookieSettings::default();
    /// assert_eq!(c.set_cookie("v1.x", true), "consentry=v1.x; Path=/; Max-Age=15552000; SameSite=Lax; Secure");
    /// ```
    pub fn set_cookie(&self, value: &str, secure: bool) -> String {
        self.cookie_line(value, self.max_age_seconds(), secure)
    }

    /// The `Set-Cookie` value that deletes the consent cookie.
    pub fn delete_cookie(&self, secure: bool) -> String {
        self.cookie_line("", 0, secure)
    }

    fn cookie_line(&self, value: &str, max_age: u64, secure: bool) -> String {
        // By hand, not `format!`: the browser banner runs this.
        let mut s = String::with_capacity(96);
        s.push_str(&self.name);
        s.push('=');
        s.push_str(value);
        s.push_str("; Path=");
        s.push_str(&self.path);
        s.push_str("; Max-Age=");
        crate::decimal::push_decimal(&mut s, max_age);
        s.push_str("; SameSite=Lax");
        if let Some(d) = &self.domain {
            s.push_str("; Domain=");
            s.push_str(d);
        }
        if secure {
            s.push_str("; Secure");
        }
        s
    }
}

/// Whether a browser privacy signal is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignalHandling {
    /// The signal denies every non-required category (the default).
    #[default]
    Honour,
    /// The site states that it does not respond to the signal.
    Ignore,
}

/// How the policy treats `DNT` and `Sec-GPC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct SignalPolicy {
    /// `DNT: 1` (Do Not Track). Default `honour`.
    pub dnt: SignalHandling,
    /// `Sec-GPC: 1` (Global Privacy Control). Default `honour`.
    pub gpc: SignalHandling,
}

/// A consent category such as `essential` or `analytics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Stable id, `[a-z][a-z0-9_-]*`, at most 32 bytes; stored in the cookie.
    pub id: String,
    /// Always granted, shown as "always on", never asked about.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub required: bool,
    /// What it does counts as "selling" or "sharing" personal information
    /// under US state privacy laws, so an opt-out (the link, `Sec-GPC: 1`)
    /// turns it off where the model is `opt-out`. `advertising` always is.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub sale_sharing: bool,
}

impl Category {
    /// Whether an opt-out of sale/sharing turns this category off:
    /// `advertising`, and any category marked `sale_sharing`.
    pub fn is_sale_sharing(&self) -> bool {
        !self.required && (self.sale_sharing || self.id == "advertising")
    }
}

/// What a service is, which decides how the middleware injects it and how the
/// banner switches it on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Matomo (self-hosted or cloud).
    Matomo,
    /// Google Analytics 4 through gtag.js, with Consent Mode v2.
    Ga4,
    /// Google Tag Manager.
    Gtm,
    /// Anything else, recognised by its `patterns`.
    Custom,
}

impl ServiceKind {
    /// The lowercase name used in the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matomo => "matomo",
            Self::Ga4 => "ga4",
            Self::Gtm => "gtm",
            Self::Custom => "custom",
        }
    }
}

/// How Matomo behaves before the visitor has consented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MatomoConsentMode {
    /// `requireConsent`: nothing at all is sent before consent (the default).
    #[default]
    RequireConsent,
    /// `requireCookieConsent`: cookieless measurement before consent, for
    /// sites configured for the CNIL audience-measurement exemption.
    RequireCookieConsent,
}

/// Matomo's consent commands (`_paq.push([command])`) for one
/// [`MatomoConsentMode`]: the one table both the server's injected snippet
/// and the banner read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatomoCommands {
    /// Said before anything is tracked (`requireConsent`).
    pub require: &'static str,
    /// Said on a page served to a visitor who has consented: consent for
    /// this page view, Consentry's cookie being the lasting record.
    pub given_on_page: &'static str,
    /// Said when the visitor grants in the page (Matomo keeps it).
    pub remember: &'static str,
    /// Said when the visitor withdraws in the page.
    pub forget: &'static str,
}

impl MatomoConsentMode {
    /// Matomo's commands in this mode.
    pub const fn commands(self) -> MatomoCommands {
        match self {
            Self::RequireConsent => MatomoCommands {
                require: "requireConsent",
                given_on_page: "setConsentGiven",
                remember: "rememberConsentGiven",
                forget: "forgetConsentGiven",
            },
            Self::RequireCookieConsent => MatomoCommands {
                require: "requireCookieConsent",
                given_on_page: "setCookieConsentGiven",
                remember: "rememberCookieConsentGiven",
                forget: "forgetCookieConsentGiven",
            },
        }
    }
}

/// Service settings, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ServiceConfig {
    /// `kind: "matomo"`.
    Matomo(MatomoConfig),
    /// `kind: "ga4"`.
    Ga4(Ga4Config),
    /// `kind: "gtm"`.
    Gtm(GtmConfig),
    /// `kind: "custom"`.
    Custom(CustomConfig),
}

/// `config` of a Matomo service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatomoConfig {
    /// Base URL of the Matomo instance, ending in `/` (`matomo.js` and
    /// `matomo.php` are found below it).
    pub url: String,
    /// Matomo site id.
    pub site_id: String,
    /// Behaviour before consent. Default `require_consent`.
    pub consent_mode: MatomoConsentMode,
}

/// `config` of a GA4 service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ga4Config {
    /// `G-XXXXXXX`.
    pub measurement_id: String,
    /// Where gtag.js is loaded from. Default
    /// `https://www.googletagmanager.com/gtag/js`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_url: Option<String>,
}

/// `config` of a GTM service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GtmConfig {
    /// `GTM-XXXXXX`.
    pub container_id: String,
    /// Where gtm.js is loaded from. Default
    /// `https://www.googletagmanager.com/gtm.js`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_url: Option<String>,
}

/// `config` of a custom service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct CustomConfig {
    /// A script the middleware injects for this service, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
}

/// A third-party tool gated by one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Stable id, same syntax as category ids.
    pub id: String,
    /// Display name (a brand name, not translated), e.g. "Google Analytics".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Id of the category that gates it.
    pub category: String,
    /// What the service is, with the settings of its kind (one value, so a
    /// kind can never carry another kind's settings). Serialised as the two
    /// fields `kind` and `config` it is written as.
    #[serde(flatten, serialize_with = "ser_config")]
    pub config: ServiceConfig,
    /// Cookie-name patterns deleted when consent is withdrawn (`*` matches any run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<Glob>,
    /// URL patterns that identify this service's scripts and frames, in addition
    /// to the built-in ones for its kind (`*` matches any run; a pattern without
    /// `*` matches as a substring).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Glob>,
}

fn ser_config<S: serde::Serializer>(c: &ServiceConfig, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("kind", &c.kind())?;
    map.serialize_entry("config", c)?;
    map.end()
}

impl ServiceConfig {
    /// The kind these settings are for.
    pub fn kind(&self) -> ServiceKind {
        match self {
            Self::Matomo(_) => ServiceKind::Matomo,
            Self::Ga4(_) => ServiceKind::Ga4,
            Self::Gtm(_) => ServiceKind::Gtm,
            Self::Custom(_) => ServiceKind::Custom,
        }
    }
}

impl Service {
    /// What the service is (the tag of its [`config`](Self::config)).
    pub fn kind(&self) -> ServiceKind {
        self.config.kind()
    }

    /// The URL the middleware loads this service's script from, if it has one.
    pub fn script_url(&self) -> Option<String> {
        match &self.config {
            ServiceConfig::Matomo(m) => Some(format!("{}matomo.js", m.url)),
            ServiceConfig::Ga4(g) => {
                Some(format!("{}?id={}", g.script_url.as_deref().unwrap_or(GTAG_URL), g.measurement_id))
            }
            ServiceConfig::Gtm(g) => {
                Some(format!("{}?id={}", g.script_url.as_deref().unwrap_or(GTM_URL), g.container_id))
            }
            ServiceConfig::Custom(c) => c.src.clone(),
        }
    }

    /// Where every service of this kind loads from and sends its hits to
    /// (matched as substrings of the URL without its scheme, lower-cased).
    pub fn kind_url_patterns(&self) -> &'static [&'static str] {
        match self.kind() {
            ServiceKind::Matomo => &["matomo.js", "piwik.js", "matomo.php", "piwik.php"],
            // gtag.js, and the collection endpoints: `/g/collect` (GA4),
            // `/collect`, `/j/collect`, `/r/collect`, `/mp/collect`,
            // `analytics.js` and regional hosts (`region1.google-analytics.com`),
            // and the Google Signals endpoint on doubleclick.
            ServiceKind::Ga4 => &[
                "googletagmanager.com/gtag/",
                "google-analytics.com/",
                "analytics.google.com/g/",
                "stats.g.doubleclick.net/g/",
            ],
            // gtm.js, and the `<noscript>` frame of Google's install snippet.
            ServiceKind::Gtm => &["googletagmanager.com/gtm.js", "googletagmanager.com/ns.html"],
            ServiceKind::Custom => &[],
        }
    }

    /// A cheap pre-filter for [`matches_url`](Self::matches_url): every URL
    /// it matches contains, ASCII case aside, one of these runs of letters,
    /// digits and `-` (one per pattern: its longest such run). `None` when a
    /// pattern has no such run, and so nothing can be ruled out.
    ///
    /// Decoding entities or `%XX`, removing tabs and newlines or mapping
    /// non-ASCII hosts can create such a run; resolving against a base,
    /// dot segments, ports, case and doubled slashes cannot. The middleware
    /// skips full URL resolution for a plain ASCII value in which, as in its
    /// base URL, none of the tokens occurs.
    pub fn url_tokens(&self) -> Option<Vec<String>> {
        let mut patterns: Vec<&str> = self.kind_url_patterns().to_vec();
        match &self.config {
            ServiceConfig::Matomo(m) if m.url.len() > 1 => patterns.push(&m.url),
            ServiceConfig::Ga4(Ga4Config { script_url: Some(u), .. })
            | ServiceConfig::Gtm(GtmConfig { script_url: Some(u), .. })
            | ServiceConfig::Custom(CustomConfig { src: Some(u) }) => patterns.push(u),
            _ => {}
        }
        patterns.extend(self.patterns.iter().map(Glob::as_str));
        patterns
            .into_iter()
            .map(|p| {
                let token = without_scheme(p)
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .max_by_key(|run| run.len())
                    .unwrap_or("");
                (!token.is_empty()).then(|| token.to_ascii_lowercase())
            })
            .collect()
    }

    /// Whether a URL the browser would fetch belongs to this service: the
    /// built-in hosts and paths of its kind (GA4: gtag.js and its collection
    /// endpoints; GTM: `gtm.js` and `ns.html`; Matomo: `matomo.js|php` and
    /// `piwik.js|php`), its configured `url`/`script_url`/`src` (as a
    /// prefix), or its own `patterns`.
    ///
    /// `url` should be the absolute URL as the browser resolves it (the
    /// middleware decodes entities and resolves against the document and its
    /// `<base href>` first). The comparison ignores the scheme (`http`,
    /// `https` or protocol-relative alike), ASCII case and repeated slashes:
    /// when in doubt, a URL is the service's.
    ///
    /// ```
    /// let policy = consentry_core::Policy::from_json(r#"{
    ///     "revision": 1,
    ///     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }],
    ///     "services": [{ "id": "ga", "kind": "ga4", "category": "analytics",
    ///                    "config": { "measurement_id": "G-AB12CD34" } }]
    /// }"#).unwrap();
    /// let ga = &policy.services()[0];
    /// assert!(ga.matches_url("HTTPS://WWW.GoogleTagManager.com/gtag/js?id=G-AB12CD34"));
    /// assert!(ga.matches_url("https://region1.google-analytics.com/g/collect?v=2"));
    /// assert!(!ga.matches_url("https://example.org/app.js"));
    /// ```
    pub fn matches_url(&self, url: &str) -> bool {
        let url = comparable(url);
        let bare = without_scheme(&url);
        let path = path_of(bare);
        // A configured location: absolute (compared without its scheme) or
        // a path on the site itself.
        let under = |prefix: &str| {
            let prefix = comparable(prefix);
            match prefix.strip_prefix('/') {
                Some(rest) if !rest.starts_with('/') => path.starts_with(prefix.as_ref()),
                _ => {
                    let p = without_scheme(&prefix);
                    p.len() > 1 && bare.starts_with(p)
                }
            }
        };
        let configured = match &self.config {
            ServiceConfig::Matomo(m) => m.url.len() > 1 && under(&m.url),
            ServiceConfig::Ga4(g) => g.script_url.as_deref().is_some_and(under),
            ServiceConfig::Gtm(g) => g.script_url.as_deref().is_some_and(under),
            ServiceConfig::Custom(c) => c.src.as_deref().is_some_and(under),
        };
        configured
            || self.kind_url_patterns().iter().any(|b| bare.contains(b))
            || self.patterns.iter().any(|p| p.matches_url(&url) || p.matches_url(bare))
    }
}

/// A URL as compared: trimmed, ASCII lower-case, the host without user
/// info, port or trailing dot (`www.googletagmanager.com.:443` is the same
/// server), runs of `/` after it made one (`//gtag//js` reaches the same
/// file on most servers).
fn comparable(url: &str) -> alloc::borrow::Cow<'_, str> {
    let url = url.trim();
    let start = without_scheme_at(url);
    let end =
        if start > 0 { url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i) } else { start };
    let authority = &url[start..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let tail = &url[end..];
    if !url.bytes().any(|b| b.is_ascii_uppercase()) && !tail.contains("//") && host.len() == authority.len() {
        return alloc::borrow::Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..start].to_ascii_lowercase());
    out.push_str(&host.to_ascii_lowercase());
    let mut prev_slash = false;
    for c in tail.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c.to_ascii_lowercase());
    }
    alloc::borrow::Cow::Owned(out)
}

/// Where the part after `scheme://` or `//` starts (0 when there is none).
fn without_scheme_at(url: &str) -> usize {
    if url.starts_with("//") {
        return 2;
    }
    match url.find("://") {
        Some(i) if url[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) => i + 3,
        _ => 0,
    }
}

fn without_scheme(url: &str) -> &str {
    &url[without_scheme_at(url)..]
}

/// The path (and query) of a URL without its scheme: from the first `/`.
fn path_of(bare: &str) -> &str {
    bare.find('/').map_or("", |i| &bare[i..])
}

/// Default gtag.js location.
pub const GTAG_URL: &str = "https://www.googletagmanager.com/gtag/js";
/// Default gtm.js location.
pub const GTM_URL: &str = "https://www.googletagmanager.com/gtm.js";

impl Policy {
    /// Serialises the policy back to the JSON form it was read from, as the
    /// banner expects it (defaults filled in).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and maps cannot fail.
        let Ok(mut value) = serde_json::to_value(self) else { return String::from("{}") };
        // Cookies the policy described go back as the objects they were.
        if let Some(services) = value.get_mut("services").and_then(serde_json::Value::as_array_mut) {
            for s in services {
                let id = s.get("id").and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
                let Some(cookies) = s.get_mut("cookies").and_then(serde_json::Value::as_array_mut) else {
                    continue;
                };
                for c in cookies {
                    let name = c.as_str().unwrap_or("");
                    if let Some(info) = self.cookie_info(&id, name).and_then(|i| serde_json::to_value(i).ok())
                    {
                        *c = info;
                    }
                }
            }
        }
        value.to_string()
    }

    /// A policy without texts from parts already checked elsewhere (the ready policy reader,
    /// [`crate::ready::read`], which enforces the invariants decisions rely on).
    pub(crate) fn from_parts(
        revision: u32,
        language: String,
        cookie: CookieSettings,
        signals: SignalPolicy,
        catalog: Arc<Catalog>,
        consent_endpoint: Option<String>,
        regions: Regions,
    ) -> Self {
        Self {
            revision,
            language,
            cookie,
            signals,
            catalog,
            consent_endpoint,
            regions,
            texts: BTreeMap::new(),
            cookie_info: Vec::new(),
        }
    }

    /// Policy revision; a consent given under another revision is asked again.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// The site's default language (`language`, default `en`): the banner
    /// speaks it when none of the visitor's languages is available.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Consent cookie settings.
    pub fn cookie(&self) -> &CookieSettings {
        &self.cookie
    }

    /// How DNT and GPC are treated.
    pub fn signals(&self) -> SignalPolicy {
        self.signals
    }

    /// Categories, in policy order.
    pub fn categories(&self) -> &[Category] {
        &self.catalog.categories
    }

    /// Services, in policy order.
    pub fn services(&self) -> &[Service] {
        &self.catalog.services
    }

    /// Looks up a category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories().iter().find(|c| c.id == id)
    }

    /// Looks up a service by id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services().iter().find(|s| s.id == id)
    }

    /// Where the banner posts choices so a receipt is stored, if anywhere.
    pub fn consent_endpoint(&self) -> Option<&str> {
        self.consent_endpoint.as_deref()
    }

    /// Returns a copy that posts choices to `endpoint` (the middleware sets
    /// this to its own route).
    pub fn with_consent_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.consent_endpoint = Some(endpoint.into());
        self
    }

    /// Which consent model applies where (`regions`; without it, `opt-in`
    /// everywhere).
    pub fn regions(&self) -> &Regions {
        &self.regions
    }

    /// The model for a visitor in `region` (`None`: unknown).
    pub fn model_for(&self, region: Option<crate::region::Region>) -> crate::region::Model {
        self.regions.model_for(region)
    }

    /// What the policy says of `service`'s cookie `name`, if anything.
    pub fn cookie_info(&self, service: &str, name: &str) -> Option<&CookieInfo> {
        self.cookie_info.iter().find(|c| c.service == service && c.name == name)
    }

    /// The texts as written in the policy, by language tag.
    pub fn texts(&self) -> &BTreeMap<String, Texts> {
        &self.texts
    }

    /// A visitor's choice in its normal form: the optional categories it
    /// grants as a whole, in policy order, then the services it grants on
    /// their own (their category not granted whole), in policy order.
    /// Required categories are implied and unknown ids are dropped (callers
    /// that must refuse them check [`category`](Self::category) and
    /// [`service`](Self::service)). The browser banner and the consent
    /// endpoint both record this.
    ///
    /// ```
    /// let p = consentry_core::Policy::from_json(r#"{"revision": 1, "categories": [
    ///     {"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}]}"#).unwrap();
    /// assert_eq!(p.choice(["advertising", "essential", "nope", "analytics"]), ["analytics", "advertising"]);
    /// ```
    ///
    /// ```
    /// let p = consentry_core::Policy::from_json(r#"{"revision": 1, "categories": [
    ///     {"id": "essential", "required": true}, {"id": "analytics"}],
    ///     "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}},
    ///                  {"id": "gtm", "kind": "gtm", "category": "analytics", "config": {"container_id": "GTM-AB12CD"}}]}"#).unwrap();
    /// assert_eq!(p.choice(["ga4"]), ["ga4"]);
    /// assert_eq!(p.choice(["ga4", "analytics"]), ["analytics"]);
    /// ```
    pub fn choice<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<&str> {
        // Loops rather than collecting or chaining iterators: the browser
        // banner runs this.
        let mut list = Vec::new();
        for id in ids {
            list.push(id);
        }
        let named = |id: &str| list.contains(&id);
        let mut out = Vec::new();
        for c in self.categories() {
            if !c.required && named(&c.id) {
                out.push(c.id.as_str());
            }
        }
        // A service on its own: its category is optional and not granted whole.
        for s in self.services() {
            if named(&s.id) && !named(&s.category) && self.category(&s.category).is_some_and(|c| !c.required)
            {
                out.push(s.id.as_str());
            }
        }
        out
    }

    /// Checks that every id of a visitor's choice is a category or a service
    /// of this policy, before [`choice`](Self::choice) (which skips unknown
    /// ids) records it.
    ///
    /// ```
    /// let p = consentry_core::Policy::from_json(r#"{"revision": 1, "categories": [
    ///     {"id": "essential", "required": true}, {"id": "analytics"}]}"#).unwrap();
    /// assert!(p.check_choice(["analytics"]).is_ok());
    /// assert_eq!(
    ///     p.check_choice(["analytic"]).unwrap_err().to_string(),
    ///     "unknown category or service `analytic` (categories: essential, analytics; services: none)"
    /// );
    /// ```
    pub fn check_choice<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<(), UnknownId> {
        match ids.into_iter().find(|id| self.category(id).is_none() && self.service(id).is_none()) {
            None => Ok(()),
            Some(id) => Err(UnknownId::new(
                id,
                self.categories().iter().map(|c| c.id.clone()).collect(),
                self.services().iter().map(|s| s.id.clone()).collect(),
            )),
        }
    }

    /// Whether any category needs asking about (kisslabs-style sites with only
    /// essential cookies never show a banner).
    pub fn has_optional_categories(&self) -> bool {
        self.categories().iter().any(|c| !c.required)
    }

    pub(crate) fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }
}

/// Which cookie setting is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieFault {
    Name,
    MaxAge,
    Path,
    Domain,
}

/// The cookie settings' invariants, without building an error: the ready
/// policy's reader (in the browser) only needs to know that one is broken.
pub(crate) fn cookie_fault(c: &CookieSettings) -> Result<(), CookieFault> {
    // A pattern, not a byte-string search: the browser banner runs this.
    let token = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
    };
    if c.name.is_empty() || c.name.len() > 64 || !c.name.bytes().all(token) {
        return Err(CookieFault::Name);
    }
    if c.max_age_days == 0 || c.max_age_days > MAX_AGE_DAYS_LIMIT {
        return Err(CookieFault::MaxAge);
    }
    if !c.path.starts_with("/") || c.path.bytes().any(|b| b == b';' || b.is_ascii_control()) {
        return Err(CookieFault::Path);
    }
    if let Some(d) = &c.domain {
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !d.starts_with(".")
            && !d.ends_with(".");
        if !ok {
            return Err(CookieFault::Domain);
        }
    }
    Ok(())
}

/// Checks the id syntax shared by categories, services and the cookie codec.
pub(crate) fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && b[0].is_ascii_lowercase()
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

impl Policy {
    /// Every language the banner can speak for this policy: the policy's own,
    /// then the built-in packs.
    pub fn languages(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.texts().keys().map(String::as_str).collect();
        for (b, _) in texts::PACK_SOURCES {
            if !all.contains(b) {
                all.push(b);
            }
        }
        all
    }

    /// Texts in the best language for a visitor who prefers `preferred` (in
    /// order, e.g. `<html lang>` then `navigator.languages`); see [`negotiate`](texts::negotiate).
    /// Without a match: the policy's [`language`](Policy::language).
    pub fn texts_for<'p>(&'p self, preferred: &[&str]) -> ResolvedTexts<'p> {
        let lang = texts::negotiate(&self.languages(), preferred, self.language());
        ResolvedTexts::new(lang, self.texts(), self.language())
    }
}

/// The consent endpoint's request body for a choice: `{"granted":[…]}`.
/// Ids are valid policy ids (no characters JSON would escape).
pub fn choice_json(granted: &[&str]) -> String {
    let mut s = String::from("{\"granted\":[");
    for (i, g) in granted.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(g);
        s.push('"');
    }
    s.push_str("]}");
    s
}
