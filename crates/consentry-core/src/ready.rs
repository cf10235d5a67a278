//! The ready policy: what the browser banner reads.
//!
//! Validation, defaults and texts are settled once, where size does not
//! matter — in the middleware (per response language) or in the build step
//! (`consentry policy build`) — and the browser receives only what it needs
//! to decide and to draw, with the markup already rendered by
//! [`crate::render`]. The banner therefore carries no validator, no texts and
//! no renderer.
//!
//! # Format `consentry-ready/1`
//!
//! A JSON object:
//!
//! | field | value |
//! |---|---|
//! | `format` | `"consentry-ready/1"`; any other value is refused |
//! | `rules` | the rules, as text (below) |
//! | `texts` | `{ "<lang>": { "banner", "dialog", "settings", "placeholder" } }`: markup from [`crate::render`] |
//! | `first_visit` | `{ "cookie": "<consent cookie name>", "asked": <bool> }`: whether [`crate::decide`] asks a visitor with no consent cookie and no `DNT`/`Sec-GPC` (optional; lets the page show the first layer while the rules module is still loading); with `"model"` when the policy's `regions.default` is not `opt-in` (which first layer to show then) |
//!
//! | `zones` | `{ "<IANA time zone>": "<model>" }`: for a page no server tells the visitor's model, the model by the browser's time zone, for the zones whose model is not the default (optional; see [`crate::region::Regions::zone_models`]) |
//!
//! With `regions` that use another model than `opt-in`, each language of
//! `texts` also has `optout` and `notice` (those first layers), `optout_link`
//! (the persistent "Do Not Sell or Share" link), `optout_done` and
//! `gpc_done` (the confirmations), all from [`crate::render`].
//!
//! `rules` is line-based, so the banner reads it with a few string splits and
//! carries no JSON reader: one record per line (`\n`), fields separated by
//! tabs (`\t`). No value the policy validator accepts can contain either.
//!
//! ```text
//! revision   <revision ≥ 1>
//! language   <default language tag>
//! cookie     <name> <max_age_days> <path> [<domain>]
//! signals    <dnt: 1 honoured, 0 ignored> <gpc: 1 or 0>
//! endpoint   <consent endpoint URL>                      (optional)
//! category   <id> [required|sale]                        (1 to 64, policy order; `sale`: sale/sharing)
//! service    <id> <matomo|ga4|gtm|custom> <category> <cookieless: 1 or 0> <cookie glob>…
//! model      <opt-in|opt-out|notice|none>                (regions.default, when not opt-in)
//! ```
//!
//! The region rules themselves stay where the region is known: the server
//! finds the visitor's model with [`crate::decide_at`] and says it in the
//! page (`<meta name="consentry-region" content="<region> <source>
//! <model>">`, see `consentry-tower`), which the banner then applies; with
//! no such word (a static site), `model` applies. A policy without
//! `regions` reads exactly as it always did.
//!
//! e.g. `revision\t3\nlanguage\ten\ncookie\tconsentry\t180\t/\nsignals\t1\t1\ncategory\tessential\trequired\ncategory\tanalytics\nservice\tga4\tga4\tanalytics\t0\t_ga\t_ga_*`.
//! Unknown record names are refused. `cookieless` is 1 for Matomo in
//! `require_cookie_consent` mode.
//!
//! Reading ([`read_rules`]) checks the structure and the invariants decisions
//! rely on (ids, categories, cookie attributes) and refuses anything else
//! with a [`ReadyError`] — a code, no message, so the reader stays small; the
//! browser's loader turns it into words. Refused rules grant nothing: the
//! banner does not start and inert tags stay inert.

use crate::prelude::*;
use alloc::sync::Arc;

use crate::json::JsonValue;
use crate::pattern::Glob;
use crate::policy::{
    Catalog, Category, CookieSettings, CustomConfig, Ga4Config, GtmConfig, MatomoConfig, MatomoConsentMode,
    Policy, Service, ServiceConfig, SignalHandling, SignalPolicy, is_valid_id,
};
use crate::region::{Model, Regions};
use crate::render::{self, RenderedBy};
use crate::split::split;

/// The format tag this version reads and writes.
pub const READY_FORMAT: &str = "consentry-ready/1";

/// Why a ready policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyError {
    /// Not a ready policy at all: no `format` field (e.g. a policy source,
    /// which needs `consentry policy build`).
    NotReady,
    /// A ready policy of another version.
    UnknownFormat,
    /// A ready policy whose content is malformed.
    Malformed,
}

impl ReadyError {
    /// A stable numeric code (what the browser banner reports).
    pub fn code(self) -> u32 {
        match self {
            Self::NotReady => 1,
            Self::UnknownFormat => 2,
            Self::Malformed => 3,
        }
    }
}

/// One language's markup, as the browser inserts it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadyTexts {
    /// The first layer ([`render::banner`]).
    pub banner: String,
    /// The preferences dialog ([`render::dialog`]).
    pub dialog: String,
    /// The persistent "Cookie settings" button ([`render::settings_button`]).
    pub settings: String,
    /// The click-to-load notice ([`render::placeholder`]).
    pub placeholder: String,
    /// What only the `opt-out` and `notice` models show, present when the
    /// policy's `regions` use them (see [`RegionalTexts`]).
    pub regional: Option<RegionalTexts>,
}

/// The markup of the `opt-out` and `notice` models in one language.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionalTexts {
    /// The `opt-out` first layer ([`render::banner_for`]).
    pub optout: String,
    /// The `notice` first layer.
    pub notice: String,
    /// The persistent "Do Not Sell or Share" link ([`render::opt_out_link`]).
    pub optout_link: String,
    /// The confirmation after a one-click opt-out ([`render::status`]).
    pub optout_done: String,
    /// The confirmation when `Sec-GPC: 1` opted the visitor out.
    pub gpc_done: String,
}

/// A ready policy as read in the browser.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The rules: categories, services, cookie, signals (no texts, no
    /// injection settings: the browser never injects).
    pub policy: Policy,
    /// The default language.
    pub language: String,
    /// Markup per language tag.
    pub texts: Vec<(String, ReadyTexts)>,
}

impl Ready {
    /// The markup for a visitor who prefers `preferred` (see
    /// [`crate::texts::negotiate`]).
    pub fn texts_for(&self, preferred: &[&str]) -> Option<&ReadyTexts> {
        let available: Vec<&str> = self.texts.iter().map(|(l, _)| l.as_str()).collect();
        let lang = crate::texts::negotiate(&available, preferred, &self.language);
        self.texts.iter().find(|(l, _)| l == lang).or_else(|| self.texts.first()).map(|(_, t)| t)
    }
}

fn id(s: &str) -> Option<String> {
    is_valid_id(s).then(|| s.to_owned())
}

fn number(s: Option<&str>) -> Option<u32> {
    s.and_then(|s| crate::decimal::decimal(s, 10)).and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0)
}

/// Reads the `rules` of a ready policy (see the module docs). The policy it
/// returns carries no texts and no injection settings: the browser never
/// injects.
pub fn read_rules(rules: &str) -> Result<Policy, ReadyError> {
    let mut revision = None;
    let mut language = None;
    let mut cookie = None;
    let mut signals = None;
    let mut endpoint = None;
    let mut categories: Vec<Category> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    let mut regions = Regions::default();
    // One record at a time, `None` for a malformed one: the policy's parts
    // are dropped at one place (the single `Err` below), not at every check,
    // which keeps the browser banner's reader small.
    let mut record = |line: &str| -> Option<()> {
        let mut f = split(line, b'\t');
        match f.next() {
            Some("revision") => revision = Some(number(f.next())?),
            Some("language") => language = f.next().map(str::to_owned),
            Some("cookie") => {
                let (Some(name), days, Some(path)) = (f.next(), number(f.next())?, f.next()) else {
                    return None;
                };
                let c = CookieSettings {
                    name: name.to_owned(),
                    max_age_days: days,
                    path: path.to_owned(),
                    domain: f.next().map(str::to_owned),
                };
                crate::policy::cookie_fault(&c).ok()?;
                cookie = Some(c);
            }
            Some("signals") => {
                let honour = |v: Option<&str>| {
                    if v == Some("1") { SignalHandling::Honour } else { SignalHandling::Ignore }
                };
                signals = Some(SignalPolicy { dnt: honour(f.next()), gpc: honour(f.next()) });
            }
            Some("endpoint") => endpoint = f.next().map(str::to_owned),
            Some("category") => {
                let id = id(f.next().unwrap_or(""))?;
                let flag = f.next();
                let cat =
                    Category { id, required: flag == Some("required"), sale_sharing: flag == Some("sale") };
                if categories.iter().any(|o| o.id == cat.id) || categories.len() == crate::MAX_CATEGORIES {
                    return None;
                }
                categories.push(cat);
            }
            Some("service") => {
                let service_id = id(f.next().unwrap_or(""))?;
                let kind = f.next().unwrap_or("");
                let category = f.next().unwrap_or("").to_owned();
                let cookieless = f.next() == Some("1");
                if !categories.iter().any(|c| c.id == category) || services.iter().any(|o| o.id == service_id)
                {
                    return None;
                }
                let config = match kind {
                    "matomo" => ServiceConfig::Matomo(MatomoConfig {
                        url: String::new(),
                        site_id: String::new(),
                        consent_mode: if cookieless {
                            MatomoConsentMode::RequireCookieConsent
                        } else {
                            MatomoConsentMode::RequireConsent
                        },
                    }),
                    "ga4" => {
                        ServiceConfig::Ga4(Ga4Config { measurement_id: String::new(), script_url: None })
                    }
                    "gtm" => ServiceConfig::Gtm(GtmConfig { container_id: String::new(), script_url: None }),
                    "custom" => ServiceConfig::Custom(CustomConfig::default()),
                    _ => return None,
                };
                // A loop rather than collecting into a Result: less wasm.
                let mut cookies = Vec::new();
                for g in f {
                    cookies.push(Glob::new(g, true)?);
                }
                services.push(Service {
                    id: service_id,
                    name: None,
                    category,
                    config,
                    cookies,
                    patterns: Vec::new(),
                });
            }
            Some("model") => regions.default = f.next().and_then(Model::parse)?,
            _ => return None,
        }
        Some(())
    };
    for line in split(rules, b'\n').filter(|l| !l.is_empty()) {
        if record(line).is_none() {
            return Err(ReadyError::Malformed);
        }
    }
    let (Some(revision), Some(language), Some(cookie), Some(signals), false) =
        (revision, language, cookie, signals, categories.is_empty())
    else {
        return Err(ReadyError::Malformed);
    };
    Ok(Policy::from_parts(
        revision,
        language,
        cookie,
        signals,
        Arc::new(Catalog { categories, services }),
        endpoint,
        regions,
    ))
}

/// Reads a whole ready policy from a JSON value (see the module docs):
/// the format tag, the rules and the markup.
pub fn read<V: JsonValue>(v: V) -> Result<Ready, ReadyError> {
    let top = v.as_object().ok_or(ReadyError::NotReady)?;
    let get = |name: &str| top.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    match get("format").map(JsonValue::as_string) {
        None => return Err(ReadyError::NotReady),
        Some(Some(f)) if f == READY_FORMAT => {}
        Some(_) => return Err(ReadyError::UnknownFormat),
    }
    let rules = get("rules").and_then(JsonValue::as_string).ok_or(ReadyError::Malformed)?;
    let policy = read_rules(&rules)?;
    let language = policy.language().to_owned();
    let mut texts = Vec::new();
    for (lang, t) in get("texts").and_then(JsonValue::as_object).ok_or(ReadyError::Malformed)? {
        let t = t.as_object().ok_or(ReadyError::Malformed)?;
        let field = |name: &str| {
            t.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_string()).ok_or(ReadyError::Malformed)
        };
        texts.push((
            lang,
            ReadyTexts {
                banner: field("banner")?,
                dialog: field("dialog")?,
                settings: field("settings")?,
                placeholder: field("placeholder")?,
                regional: match field("optout") {
                    Ok(optout) => Some(RegionalTexts {
                        optout,
                        notice: field("notice")?,
                        optout_link: field("optout_link")?,
                        optout_done: field("optout_done")?,
                        gpc_done: field("gpc_done")?,
                    }),
                    Err(_) => None,
                },
            },
        ));
    }
    if texts.is_empty() {
        return Err(ReadyError::Malformed);
    }
    Ok(Ready { policy, language, texts })
}

impl Policy {
    /// The languages a build includes, from the build's `--lang` value:
    /// `all` (every language the banner can speak for this policy), a
    /// comma-separated list (each must be available, or the error names it),
    /// or nothing: the languages the policy writes texts for, else its
    /// default language.
    ///
    /// ```
    /// let p = consentry_core::Policy::from_json(r#"{"revision": 1, "language": "fr",
    ///     "categories": [{"id": "essential", "required": true}]}"#).unwrap();
    /// assert_eq!(p.build_languages(None).unwrap(), ["fr"]);
    /// assert_eq!(p.build_languages(Some("de, en")).unwrap(), ["de", "en"]);
    /// assert!(p.build_languages(Some("xx")).unwrap_err().contains("`xx`"));
    /// ```
    pub fn build_languages<'a>(&'a self, spec: Option<&'a str>) -> Result<Vec<&'a str>, String> {
        let all = self.languages();
        match spec.map(str::trim) {
            Some("all") => Ok(all),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    if crate::texts::negotiate(&all, &[l], "").is_empty() {
                        Err(format!("no texts for `{l}` (available: {})", all.join(", ")))
                    } else {
                        Ok(l)
                    }
                })
                .collect(),
            None if self.texts().is_empty() => Ok(vec![self.language()]),
            None => Ok(self.texts().keys().map(String::as_str).collect()),
        }
    }

    /// The ready policy for the languages `langs` (each negotiated as
    /// [`texts_for`](Policy::texts_for) does; no tags: the policy's default
    /// language), as JSON. See the module docs for the format.
    pub fn to_ready_json(&self, langs: &[&str]) -> String {
        self.to_ready_json_for(langs, false)
    }

    /// [`to_ready_json`](Self::to_ready_json) for a page whose server may
    /// tell the banner another model than the policy's default (it knows
    /// the visitor's region): with `regional`, the markup of the `opt-out`
    /// and `notice` models is included whenever the policy's `regions` use
    /// them; without, only when `regions.default` is one of them (a static
    /// site knows no region: the default is all it can apply).
    pub fn to_ready_json_for(&self, langs: &[&str], regional: bool) -> String {
        use serde_json::{Map, json};
        // A static site's guess from the time zone (see `Regions::zone_models`).
        let zones = self.regions().zone_models();
        let regional = match self.regions().default {
            Model::OptIn => (regional && !self.regions().is_opt_in_everywhere()) || !zones.is_empty(),
            _ => true,
        };
        let mut texts = Map::new();
        let defaults = [self.language()];
        for want in if langs.is_empty() { &defaults[..] } else { langs } {
            let t = self.texts_for(&[want]);
            if texts.contains_key(t.lang()) {
                continue;
            }
            let url = self.consent_endpoint().unwrap_or("#");
            let mut markup = json!({
                "banner": render::banner(self, &t, url, None, RenderedBy::Client),
                "dialog": render::dialog(self, &t),
                "settings": render::settings_button(&t),
                "placeholder": render::placeholder(&t),
            });
            if regional && let Some(m) = markup.as_object_mut() {
                let banner = |model| render::banner_for(self, &t, url, None, RenderedBy::Client, model);
                m.insert("optout".into(), banner(Model::OptOut).into());
                m.insert("notice".into(), banner(Model::Notice).into());
                m.insert("optout_link".into(), render::opt_out_link(&t, url, None).into());
                m.insert("optout_done".into(), render::status(&t, crate::texts::Key::optout_done).into());
                m.insert(
                    "gpc_done".into(),
                    render::status(&t, crate::texts::Key::signal_optout_notice).into(),
                );
            }
            texts.insert(t.lang().to_owned(), markup);
        }
        let language = if texts.contains_key(self.language()) {
            self.language().to_owned()
        } else {
            texts.keys().next().cloned().unwrap_or_else(|| self.language().to_owned())
        };
        // What the page layer may show before the rules module has arrived:
        // whether a visitor with no consent cookie and no privacy signal is
        // asked, decided here by `decide` so the browser runs no rule of its own.
        // With regions, for a visitor whose region the page does not say
        // (the server says it, where there is one): the default's model.
        let asked = crate::decide(self, None, crate::Signals::default(), 0).needs_banner();
        let mut first_visit = json!({ "cookie": self.cookie().name, "asked": asked });
        if self.regions().default != Model::OptIn
            && let Some(f) = first_visit.as_object_mut()
        {
            f.insert("model".into(), self.regions().default.as_str().into());
        }
        let mut json = json!({
            "format": READY_FORMAT,
            "rules": self.rules(&language),
            "texts": texts,
            "first_visit": first_visit,
        });
        if !zones.is_empty()
            && let Some(top) = json.as_object_mut()
        {
            let zones: Map<String, serde_json::Value> =
                zones.into_iter().map(|(z, m)| (z.to_owned(), m.as_str().into())).collect();
            top.insert("zones".into(), zones.into());
        }
        json.to_string()
    }

    /// The `rules` text of the ready form (see the module docs).
    fn rules(&self, language: &str) -> String {
        let mut r = String::new();
        let mut line = |fields: &[&str]| {
            r.push_str(&fields.join("\t"));
            r.push('\n');
        };
        line(&["revision", &self.revision().to_string()]);
        line(&["language", language]);
        let c = self.cookie();
        let days = c.max_age_days.to_string();
        let mut cookie = vec!["cookie", c.name.as_str(), days.as_str(), c.path.as_str()];
        cookie.extend(c.domain.as_deref());
        line(&cookie);
        let flag = |h: SignalHandling| if h == SignalHandling::Honour { "1" } else { "0" };
        line(&["signals", flag(self.signals().dnt), flag(self.signals().gpc)]);
        if let Some(e) = self.consent_endpoint() {
            line(&["endpoint", e]);
        }
        for cat in self.categories() {
            if cat.required {
                line(&["category", &cat.id, "required"]);
            } else if cat.sale_sharing {
                line(&["category", &cat.id, "sale"]);
            } else {
                line(&["category", &cat.id]);
            }
        }
        if self.regions().default != Model::OptIn {
            line(&["model", self.regions().default.as_str()]);
        }
        for s in self.services() {
            let cookieless = matches!(
                s.config,
                ServiceConfig::Matomo(MatomoConfig {
                    consent_mode: MatomoConsentMode::RequireCookieConsent,
                    ..
                })
            );
            let mut fields = vec!["service", s.id.as_str(), s.kind().as_str(), s.category.as_str()];
            fields.push(if cookieless { "1" } else { "0" });
            fields.extend(s.cookies.iter().map(|g| g.as_str()));
            line(&fields);
        }
        r
    }
}
