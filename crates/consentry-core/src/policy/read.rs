//! Reading a policy from any JSON value, with the JSON path in every error.
//!
//! The schema is written once, here, over the small [`JsonValue`] trait, so
//! the reader does not depend on one JSON library: the server, the CLI and the
//! policy builder hand it a `&serde_json::Value`. What it reads is a
//! [`RawPolicy`]; `validate.rs` turns that into a [`Policy`](super::model::Policy).
//! (The browser banner reads no policy source at all, only the ready policy's
//! rules: see [`crate::ready`].)

use crate::prelude::*;
use alloc::collections::BTreeMap;

use super::model::{
    Category, CookieInfo, CookieSettings, CustomConfig, Ga4Config, GtmConfig, LocalText, MatomoConfig,
    MatomoConsentMode, ServiceConfig, ServiceKind, SignalHandling, SignalPolicy,
};
use crate::error::PolicyError;
use crate::json::{JsonValue, Obj, join, schema};
use crate::region::{Model, RegionRule, Regions};
use crate::texts::{self, Texts};

/// A policy as read, before validation (`validate.rs`).
pub(crate) struct RawPolicy {
    pub(crate) revision: u32,
    pub(crate) language: Option<String>,
    pub(crate) cookie: CookieSettings,
    pub(crate) signals: SignalPolicy,
    pub(crate) categories: Vec<Category>,
    pub(crate) services: Vec<RawService>,
    pub(crate) consent_endpoint: Option<String>,
    pub(crate) regions: Regions,
    pub(crate) texts: BTreeMap<String, Texts>,
}

pub(crate) struct RawService {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) category: String,
    pub(crate) config: ServiceConfig,
    pub(crate) cookies: Vec<String>,
    pub(crate) cookie_info: Vec<CookieInfo>,
    pub(crate) patterns: Vec<String>,
}

fn signal(o: &Obj<impl JsonValue>, field: &str) -> Result<SignalHandling, PolicyError> {
    Ok(o.variant(field, &[("honour", SignalHandling::Honour), ("ignore", SignalHandling::Ignore)])?
        .unwrap_or_default())
}

pub(crate) fn policy<V: JsonValue>(v: &V) -> Result<RawPolicy, PolicyError> {
    let o = Obj::new(
        v,
        "",
        &[
            "revision",
            "language",
            "cookie",
            "signals",
            "categories",
            "services",
            "consent_endpoint",
            "regions",
            "texts",
        ],
    )?;
    let revision = o.u32("revision")?.ok_or_else(|| schema("", "missing field `revision`".into()))?;

    let mut cookie = CookieSettings::default();
    if let Some(c) = o.get("cookie") {
        let c = Obj::new(c, "cookie", &["name", "max_age_days", "domain", "path"])?;
        cookie.name = c.string("name")?.unwrap_or(cookie.name);
        cookie.max_age_days = c.u32("max_age_days")?.unwrap_or(cookie.max_age_days);
        cookie.domain = c.string("domain")?;
        cookie.path = c.string("path")?.unwrap_or(cookie.path);
    }

    let mut signals = SignalPolicy::default();
    if let Some(s) = o.get("signals") {
        let s = Obj::new(s, "signals", &["dnt", "gpc"])?;
        signals.dnt = signal(&s, "dnt")?;
        signals.gpc = signal(&s, "gpc")?;
    }

    let cats = o
        .required("categories")?
        .as_array()
        .ok_or_else(|| schema("categories", "invalid type: expected an array".into()))?;
    let mut categories = Vec::with_capacity(cats.len());
    for (i, c) in cats.iter().enumerate() {
        let c = Obj::new(c, &format!("categories[{i}]"), &["id", "required", "sale_sharing"])?;
        categories.push(Category {
            id: c.required_string("id")?,
            required: c.bool("required")?.unwrap_or(false),
            sale_sharing: c.bool("sale_sharing")?.unwrap_or(false),
        });
    }

    let mut services = Vec::new();
    if let Some(list) = o.get("services") {
        let list =
            list.as_array().ok_or_else(|| schema("services", "invalid type: expected an array".into()))?;
        for (i, s) in list.iter().enumerate() {
            services.push(service(s, &format!("services[{i}]"))?);
        }
    }

    let mut texts = BTreeMap::new();
    if let Some(t) = o.get("texts") {
        let members =
            t.as_object().ok_or_else(|| schema("texts", "invalid type: expected an object".into()))?;
        for (lang, value) in members {
            let parsed = texts::read(&value, &format!("texts.{lang}"))?;
            texts.insert(lang, parsed);
        }
    }

    let regions = match o.get("regions") {
        Some(r) => regions(r)?,
        None => Regions::default(),
    };

    Ok(RawPolicy {
        revision,
        language: o.string("language")?,
        cookie,
        signals,
        categories,
        services,
        consent_endpoint: o.string("consent_endpoint")?,
        regions,
        texts,
    })
}

const MODELS: [(&str, Model); 4] =
    [("opt-in", Model::OptIn), ("opt-out", Model::OptOut), ("notice", Model::Notice), ("none", Model::None)];

fn regions<V: JsonValue>(v: &V) -> Result<Regions, PolicyError> {
    let o = Obj::new(v, "regions", &["rules", "default"])?;
    let mut rules = Vec::new();
    if let Some(list) = o.get("rules") {
        let list = list
            .as_array()
            .ok_or_else(|| schema("regions.rules", "invalid type: expected an array".into()))?;
        for (i, r) in list.iter().enumerate() {
            let path = format!("regions.rules[{i}]");
            let r = Obj::new(r, &path, &["where", "model"])?;
            r.required("where")?;
            let model =
                r.variant("model", &MODELS)?.ok_or_else(|| schema(&path, "missing field `model`".into()))?;
            rules.push(RegionRule::new(r.strings("where")?, model));
        }
    }
    Ok(Regions { rules, default: o.variant("default", &MODELS)?.unwrap_or_default() })
}

fn service<V: JsonValue>(v: &V, path: &str) -> Result<RawService, PolicyError> {
    let o = Obj::new(v, path, &["id", "name", "kind", "category", "config", "cookies", "patterns"])?;
    let kinds = [
        ("matomo", ServiceKind::Matomo),
        ("ga4", ServiceKind::Ga4),
        ("gtm", ServiceKind::Gtm),
        ("custom", ServiceKind::Custom),
    ];
    let kind = o.variant("kind", &kinds)?.ok_or_else(|| schema(path, "missing field `kind`".into()))?;
    let config_path = o.at("config");
    let config = match (kind, o.get("config")) {
        (ServiceKind::Matomo, c) => {
            let c = c.ok_or_else(|| schema(path, "missing field `config`".into()))?;
            let c = Obj::new(c, &config_path, &["url", "site_id", "consent_mode"])?;
            let modes = [
                ("require_consent", MatomoConsentMode::RequireConsent),
                ("require_cookie_consent", MatomoConsentMode::RequireCookieConsent),
            ];
            ServiceConfig::Matomo(MatomoConfig {
                url: c.required_string("url")?,
                site_id: c.required_string("site_id")?,
                consent_mode: c.variant("consent_mode", &modes)?.unwrap_or_default(),
            })
        }
        (ServiceKind::Ga4, c) => {
            let c = c.ok_or_else(|| schema(path, "missing field `config`".into()))?;
            let c = Obj::new(c, &config_path, &["measurement_id", "script_url"])?;
            ServiceConfig::Ga4(Ga4Config {
                measurement_id: c.required_string("measurement_id")?,
                script_url: c.string("script_url")?,
            })
        }
        (ServiceKind::Gtm, c) => {
            let c = c.ok_or_else(|| schema(path, "missing field `config`".into()))?;
            let c = Obj::new(c, &config_path, &["container_id", "script_url"])?;
            ServiceConfig::Gtm(GtmConfig {
                container_id: c.required_string("container_id")?,
                script_url: c.string("script_url")?,
            })
        }
        (ServiceKind::Custom, None) => ServiceConfig::Custom(CustomConfig::default()),
        (ServiceKind::Custom, Some(c)) => {
            let c = Obj::new(c, &config_path, &["src"])?;
            ServiceConfig::Custom(CustomConfig { src: c.string("src")? })
        }
    };
    let id = o.required_string("id")?;
    let (cookies, cookie_info) = cookies(&o, &id)?;
    Ok(RawService {
        id,
        name: o.string("name")?,
        category: o.required_string("category")?,
        config,
        cookies,
        cookie_info,
        patterns: o.strings("patterns")?,
    })
}

/// A service's `cookies`: names (patterns), or objects describing them.
fn cookies<V: JsonValue>(o: &Obj<V>, service: &str) -> Result<(Vec<String>, Vec<CookieInfo>), PolicyError> {
    let (mut names, mut info) = (Vec::new(), Vec::new());
    let Some(v) = o.get("cookies") else { return Ok((names, info)) };
    let at = o.at("cookies");
    let items = v.as_array().ok_or_else(|| schema(&at, "invalid type: expected an array".into()))?;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{at}[{i}]");
        if let Some(name) = item.as_string() {
            names.push(name);
            continue;
        }
        let c = Obj::new(item, &path, &["name", "provider", "purpose", "lifetime"]).map_err(|_| {
            schema(&path, "invalid type: expected a cookie name or an object with `name`".into())
        })?;
        let name = c.required_string("name")?;
        let local = |field: &str| -> Result<LocalText, PolicyError> {
            let Some(v) = c.get(field) else { return Ok(LocalText::None) };
            if let Some(s) = v.as_string() {
                return Ok(LocalText::Any(s));
            }
            let members = v.as_object().ok_or_else(|| {
                schema(&c.at(field), "invalid type: expected text, or an object of texts by language".into())
            })?;
            let mut map = BTreeMap::new();
            for (lang, text) in members {
                let text = text.as_string().ok_or_else(|| {
                    schema(&join(&c.at(field), &lang), "invalid type: expected a string".into())
                })?;
                map.insert(lang, text);
            }
            Ok(LocalText::PerLanguage(map))
        };
        info.push(CookieInfo {
            service: service.to_owned(),
            name: name.clone(),
            provider: c.string("provider")?,
            purpose: local("purpose")?,
            lifetime: local("lifetime")?,
        });
        names.push(name);
    }
    Ok((names, info))
}
