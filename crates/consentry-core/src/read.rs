//! Reading a policy from any JSON value, with the JSON path in every error.
//!
//! The schema is written once, here, over the small [`JsonValue`] trait, so
//! the reader does not depend on one JSON library: the server, the CLI and the
//! policy builder hand it a `serde_json::Value`. (The browser banner reads no
//! policy source at all, only the ready policy's rules: see [`crate::ready`].)

use crate::prelude::*;
use alloc::collections::BTreeMap;

use crate::error::{PolicyError, Problem};
use crate::policy::{
    Category, CookieInfo, CookieSettings, CustomConfig, Ga4Config, GtmConfig, LocalText, MatomoConfig,
    MatomoConsentMode, RawPolicy, RawService, ServiceConfig, ServiceKind, SignalHandling, SignalPolicy,
};
use crate::region::{Model, RegionRule, Regions};
use crate::texts::{CategoryText, Key, Texts};

/// A JSON value as the policy reader needs to see it.
pub trait JsonValue: Sized {
    /// `null`.
    fn is_null(&self) -> bool;
    /// A string's content.
    fn as_string(&self) -> Option<String>;
    /// A boolean.
    fn as_bool(&self) -> Option<bool>;
    /// A number.
    fn as_f64(&self) -> Option<f64>;
    /// An array's items.
    fn as_array(&self) -> Option<Vec<Self>>;
    /// An object's members, in document order.
    fn as_object(&self) -> Option<Vec<(String, Self)>>;
}

impl JsonValue for serde_json::Value {
    fn is_null(&self) -> bool {
        self.is_null()
    }
    fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn as_bool(&self) -> Option<bool> {
        self.as_bool()
    }
    fn as_f64(&self) -> Option<f64> {
        self.as_f64()
    }
    fn as_array(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
    fn as_object(&self) -> Option<Vec<(String, Self)>> {
        self.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

fn schema(path: &str, message: String) -> PolicyError {
    PolicyError::at(path, Problem::Schema { message })
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

/// An object's members, checked against the fields it may have.
struct Obj<V> {
    path: String,
    members: Vec<(String, V)>,
}

impl<V: JsonValue> Obj<V> {
    fn new(v: &V, path: &str, allowed: &[&str]) -> Result<Self, PolicyError> {
        let members = v.as_object().ok_or_else(|| schema(path, "invalid type: expected an object".into()))?;
        for (k, _) in &members {
            if !allowed.contains(&k.as_str()) {
                let expected: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
                return Err(schema(
                    &join(path, k),
                    format!("unknown field `{k}`, expected one of {}", expected.join(", ")),
                ));
            }
        }
        for (i, (k, _)) in members.iter().enumerate() {
            if members[..i].iter().any(|(o, _)| o == k) {
                return Err(schema(&join(path, k), format!("duplicate field `{k}`")));
            }
        }
        Ok(Self { path: path.to_owned(), members })
    }

    fn get(&self, field: &str) -> Option<&V> {
        self.members.iter().find(|(k, _)| k == field).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    fn at(&self, field: &str) -> String {
        join(&self.path, field)
    }

    fn required(&self, field: &str) -> Result<&V, PolicyError> {
        self.get(field).ok_or_else(|| schema(&self.path, format!("missing field `{field}`")))
    }

    fn string(&self, field: &str) -> Result<Option<String>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_string().ok_or_else(|| schema(&self.at(field), "invalid type: expected a string".into()))
            })
            .transpose()
    }

    fn required_string(&self, field: &str) -> Result<String, PolicyError> {
        self.required(field)?;
        self.string(field)?.ok_or_else(|| schema(&self.path, format!("missing field `{field}`")))
    }

    fn bool(&self, field: &str) -> Result<Option<bool>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| schema(&self.at(field), "invalid type: expected true or false".into()))
            })
            .transpose()
    }

    fn u32(&self, field: &str) -> Result<Option<u32>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_f64()
                    // In range and whole (`f64::fract` needs std): the cast back is exact.
                    .filter(|n| *n >= 0.0 && *n <= f64::from(u32::MAX) && f64::from(*n as u32) == *n)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        schema(
                            &self.at(field),
                            "invalid value: expected a whole number from 0 to 4294967295".into(),
                        )
                    })
            })
            .transpose()
    }

    fn strings(&self, field: &str) -> Result<Vec<String>, PolicyError> {
        let Some(v) = self.get(field) else { return Ok(Vec::new()) };
        let items =
            v.as_array().ok_or_else(|| schema(&self.at(field), "invalid type: expected an array".into()))?;
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_string().ok_or_else(|| {
                    schema(&format!("{}[{i}]", self.at(field)), "invalid type: expected a string".into())
                })
            })
            .collect()
    }

    fn variant<T: Copy>(&self, field: &str, options: &[(&str, T)]) -> Result<Option<T>, PolicyError> {
        let Some(s) = self.string(field)? else { return Ok(None) };
        options.iter().find(|(name, _)| *name == s).map(|(_, t)| Some(*t)).ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
            schema(&self.at(field), format!("unknown variant `{s}`, expected one of {}", names.join(", ")))
        })
    }
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
            let parsed = language_texts(&value, &format!("texts.{lang}"))?;
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

pub(crate) fn language_texts<V: JsonValue>(v: &V, path: &str) -> Result<Texts, PolicyError> {
    let mut allowed: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
    allowed.extend(["privacy_policy_url", "categories"]);
    let o = Obj::new(v, path, &allowed)?;
    let mut t = Texts::default();
    for key in Key::ALL {
        if let Some(s) = o.string(key.name())? {
            t.set(*key, s);
        }
    }
    t.privacy_policy_url = o.string("privacy_policy_url")?;
    if let Some(c) = o.get("categories") {
        let at = o.at("categories");
        let members = c.as_object().ok_or_else(|| schema(&at, "invalid type: expected an object".into()))?;
        for (id, value) in members {
            let c = Obj::new(&value, &join(&at, &id), &["title", "description"])?;
            t.categories.insert(
                id,
                CategoryText { title: c.string("title")?, description: c.string("description")? },
            );
        }
    }
    Ok(t)
}
