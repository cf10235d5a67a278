//! Validation: a [`RawPolicy`] as `read.rs` read it becomes a [`Policy`]
//! only if it is whole. Each error names the JSON path of the first problem.

use crate::prelude::*;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::model::{
    Catalog, Category, CookieFault, CookieSettings, CustomConfig, MAX_CATEGORIES, MAX_SERVICES, Policy,
    Service, ServiceConfig, ServiceKind, cookie_fault, is_valid_id,
};
use super::read::{RawPolicy, RawService};
use crate::error::{PolicyError, Problem};
use crate::pattern::Glob;
use crate::texts::{self, Key, STANDARD_CATEGORIES, Texts};

/// A policy as read, checked whole: every id, reference, URL, pattern,
/// limit and text, each error with its JSON path.
pub(super) fn policy(raw: RawPolicy) -> Result<Policy, PolicyError> {
    if raw.revision == 0 {
        return Err(PolicyError::at("revision", Problem::RevisionZero));
    }
    cookie(&raw.cookie)?;

    if raw.categories.is_empty() {
        return Err(PolicyError::at("categories", Problem::NoCategories));
    }
    if raw.categories.len() > MAX_CATEGORIES {
        return Err(PolicyError::at(
            "categories",
            Problem::TooManyCategories { count: raw.categories.len() },
        ));
    }
    for (i, c) in raw.categories.iter().enumerate() {
        let path = format!("categories[{i}].id");
        check_id(&c.id, &path)?;
        if raw.categories[..i].iter().any(|o| o.id == c.id) {
            return Err(PolicyError::at(path, Problem::DuplicateId { id: c.id.clone() }));
        }
        if c.required && c.sale_sharing {
            return Err(PolicyError::at(
                format!("categories[{i}].sale_sharing"),
                Problem::RequiredSaleSharing,
            ));
        }
    }

    if raw.services.len() > MAX_SERVICES {
        return Err(PolicyError::at("services", Problem::TooManyServices { count: raw.services.len() }));
    }
    let mut services = Vec::with_capacity(raw.services.len());
    let mut cookie_info = Vec::new();
    for (i, mut s) in raw.services.into_iter().enumerate() {
        cookie_info.append(&mut s.cookie_info);
        // A consent lists category and service ids side by side.
        if raw.categories.iter().any(|c| c.id == s.id) {
            return Err(PolicyError::at(
                format!("services[{i}].id"),
                Problem::ServiceNamedLikeCategory { id: s.id },
            ));
        }
        let service = service(i, s, &raw.categories)?;
        if services.iter().any(|o: &Service| o.id == service.id) {
            return Err(PolicyError::at(
                format!("services[{i}].id"),
                Problem::DuplicateId { id: service.id },
            ));
        }
        services.push(service);
    }

    if let Some(endpoint) = &raw.consent_endpoint {
        check_url(endpoint, "consent_endpoint")?;
    }
    for (i, rule) in raw.regions.rules.iter().enumerate() {
        if rule.places().is_empty() {
            return Err(PolicyError::at(format!("regions.rules[{i}].where"), Problem::NoPlaces));
        }
        for (j, place) in rule.places().iter().enumerate() {
            if !crate::region::is_valid_entry(place) {
                return Err(PolicyError::at(
                    format!("regions.rules[{i}].where[{j}]"),
                    Problem::UnknownRegion { entry: place.clone() },
                ));
            }
        }
    }

    texts(&raw.texts, &raw.categories, !raw.regions.is_opt_in_everywhere())?;
    let language = raw.language.unwrap_or_else(|| "en".to_owned());
    if !texts::valid_language_tag(&language) {
        return Err(PolicyError::at("language", Problem::InvalidLanguage { tag: language }));
    }
    if !texts::has_builtin_pack(&language) && !raw.texts.contains_key(&language) {
        return Err(PolicyError::at(
            "language",
            Problem::MissingText { lang: language, key: "title".to_owned() },
        ));
    }

    let catalog = Arc::new(Catalog { categories: raw.categories, services });
    Ok(Policy {
        revision: raw.revision,
        language,
        cookie: raw.cookie,
        signals: raw.signals,
        catalog,
        consent_endpoint: raw.consent_endpoint,
        regions: raw.regions,
        texts: raw.texts,
        cookie_info,
    })
}

/// The cookie settings, with the path of the one that is unusable.
fn cookie(c: &CookieSettings) -> Result<(), PolicyError> {
    let Err(fault) = cookie_fault(c) else { return Ok(()) };
    let (path, problem) = match fault {
        CookieFault::Name => ("cookie.name", Problem::InvalidCookieName { name: c.name.clone() }),
        CookieFault::MaxAge => ("cookie.max_age_days", Problem::MaxAge { days: c.max_age_days }),
        CookieFault::Path => ("cookie.path", Problem::InvalidCookieAttribute { value: c.path.clone() }),
        CookieFault::Domain => {
            ("cookie.domain", Problem::InvalidCookieAttribute { value: c.domain.clone().unwrap_or_default() })
        }
    };
    Err(PolicyError::at(path, problem))
}

fn check_id(id: &str, path: &str) -> Result<(), PolicyError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(PolicyError::at(path, Problem::InvalidId { id: id.to_owned() }))
    }
}

fn check_url(url: &str, path: &str) -> Result<(), PolicyError> {
    let absolute = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = match absolute {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => url.starts_with('/') && !url.starts_with("//"),
    } && !url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'"' || b == b'<' || b == b'>');
    if ok { Ok(()) } else { Err(PolicyError::at(path, Problem::InvalidUrl { url: url.to_owned() })) }
}

fn service(i: usize, s: RawService, categories: &[Category]) -> Result<Service, PolicyError> {
    let at = |field: &str| format!("services[{i}].{field}");
    check_id(&s.id, &at("id"))?;
    if !categories.iter().any(|c| c.id == s.category) {
        return Err(PolicyError::at(
            at("category"),
            Problem::UnknownCategory {
                id: s.category,
                known: categories.iter().map(|c| c.id.clone()).collect(),
            },
        ));
    }
    let config = s.config;
    match &config {
        ServiceConfig::Matomo(m) => {
            check_url(&m.url, &at("config.url"))?;
            if !m.url.ends_with('/') {
                return Err(PolicyError::at(
                    at("config.url"),
                    Problem::MatomoUrlSlash { url: m.url.clone() },
                ));
            }
            if m.site_id.is_empty() || m.site_id.len() > 10 || !m.site_id.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(PolicyError::at(
                    at("config.site_id"),
                    Problem::MatomoSiteId { value: m.site_id.clone() },
                ));
            }
        }
        ServiceConfig::Ga4(g) => {
            if !google_id(&g.measurement_id, "G-") {
                return Err(PolicyError::at(
                    at("config.measurement_id"),
                    Problem::MeasurementId { value: g.measurement_id.clone() },
                ));
            }
            if let Some(u) = &g.script_url {
                check_url(u, &at("config.script_url"))?;
            }
        }
        ServiceConfig::Gtm(g) => {
            if !google_id(&g.container_id, "GTM-") {
                return Err(PolicyError::at(
                    at("config.container_id"),
                    Problem::ContainerId { value: g.container_id.clone() },
                ));
            }
            if let Some(u) = &g.script_url {
                check_url(u, &at("config.script_url"))?;
            }
        }
        ServiceConfig::Custom(c) => {
            if let Some(u) = &c.src {
                check_url(u, &at("config.src"))?;
            }
        }
    }
    let cookies = globs(s.cookies, &at("cookies"), true)?;
    let patterns = globs(s.patterns, &at("patterns"), false)?;
    if config.kind() == ServiceKind::Custom && patterns.is_empty() {
        if let ServiceConfig::Custom(CustomConfig { src: None }) = config {
            return Err(PolicyError::at(at("patterns"), Problem::CustomWithoutPattern));
        }
    }
    Ok(Service { id: s.id, name: s.name, category: s.category, config, cookies, patterns })
}

fn globs(raw: Vec<String>, path: &str, cookie_name: bool) -> Result<Vec<Glob>, PolicyError> {
    raw.into_iter()
        .enumerate()
        .map(|(j, p)| {
            Glob::new(&p, cookie_name).ok_or_else(|| {
                PolicyError::at(format!("{path}[{j}]"), Problem::InvalidPattern { pattern: p })
            })
        })
        .collect()
}

fn google_id(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        (4..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// Every language's texts: a valid tag, every key where no built-in pack
/// fills the gaps, known categories, a usable privacy policy URL, a title
/// for every category the packs do not know.
fn texts(
    texts: &BTreeMap<String, Texts>,
    categories: &[Category],
    regional: bool,
) -> Result<(), PolicyError> {
    for (lang, t) in texts {
        if !texts::valid_language_tag(lang) {
            return Err(PolicyError::at(
                format!("texts.{lang}"),
                Problem::InvalidLanguage { tag: lang.clone() },
            ));
        }
        if !texts::has_builtin_pack(lang) {
            if let Some(key) =
                Key::ALL.iter().find(|k| (regional || !k.is_regional()) && t.get(**k).is_none())
            {
                return Err(PolicyError::at(
                    format!("texts.{lang}.{}", key.name()),
                    Problem::MissingText { lang: lang.clone(), key: key.name().to_owned() },
                ));
            }
        }
        for id in t.categories.keys() {
            if !categories.iter().any(|c| &c.id == id) {
                return Err(PolicyError::at(
                    format!("texts.{lang}.categories.{id}"),
                    Problem::UnknownCategory {
                        id: id.clone(),
                        known: categories.iter().map(|c| c.id.clone()).collect(),
                    },
                ));
            }
        }
        if let Some(url) = &t.privacy_policy_url {
            let path = format!("texts.{lang}.privacy_policy_url");
            let ok = (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
                && !url.starts_with("//")
                && !url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'"');
            if !ok {
                return Err(PolicyError::at(path, Problem::InvalidUrl { url: url.clone() }));
            }
        }
        for c in categories {
            let has_title = t.categories.get(&c.id).is_some_and(|ct| ct.title.is_some());
            if !has_title && !STANDARD_CATEGORIES.contains(&c.id.as_str()) {
                return Err(PolicyError::at(
                    format!("texts.{lang}.categories.{}.title", c.id),
                    Problem::MissingCategoryTitle { lang: lang.clone(), category: c.id.clone() },
                ));
            }
        }
    }
    Ok(())
}
