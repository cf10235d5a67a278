//! What a request, a cookie or a storage key is: by the policy first (its
//! services' URLs and cookie patterns, its consent cookie), then by two open
//! datasets embedded in the binary (see `data/DATASETS.md`): the Open
//! Cookie Database (cookie and storage names) and third-party-web (tracker
//! domains).

use consentry_core::{Glob, Policy};

use super::model::{Class, Dataset};

/// The datasets, as the report lists them.
pub const DATASETS: [Dataset; 2] = [
    Dataset {
        name: "Open Cookie Database",
        source: "https://github.com/jkwakman/Open-Cookie-Database (open-cookie-database.csv)",
        version: OCD_VERSION,
        licence: "Apache-2.0",
    },
    Dataset {
        name: "third-party-web",
        source: "https://github.com/patrickhulce/third-party-web (npm third-party-web, dist/entities-nostats.json)",
        version: "0.30.0",
        licence: "MIT",
    },
];

const OCD_VERSION: &str = include_str!("../../data/open-cookie-database.version");
const OCD: &str = include_str!("../../data/open-cookie-database.csv");
const TPW: &str = include_str!("../../data/third-party-web-entities.json");

/// A cookie-name entry of the Open Cookie Database.
struct CookieEntry {
    name: String,
    prefix: bool,
    platform: String,
    category: String,
}

/// A tracker domain of third-party-web.
struct DomainEntry {
    /// Lower case, without a leading `*.`.
    domain: String,
    entity: String,
    category: String,
}

/// third-party-web categories that need consent: advertising, analytics,
/// marketing, social widgets, tag managers and video embeds (which set
/// their own cookies). Utility, content, hosting, CDN and consent providers
/// do not by themselves.
const TPW_CONSENT: [&str; 6] = ["ad", "analytics", "marketing", "social", "tag-manager", "video"];

/// Open Cookie Database categories that need consent.
const OCD_CONSENT: [&str; 3] = ["analytics", "marketing", "personalization"];

/// Classifies what the audit records.
pub struct Classifier {
    policy: Option<Policy>,
    cookies: Vec<CookieEntry>,
    domains: Vec<DomainEntry>,
}

impl Classifier {
    /// Loads the embedded datasets. Fails only if they are corrupt (a build defect).
    pub fn new(policy: Option<Policy>) -> Result<Self, String> {
        Ok(Self { policy, cookies: read_ocd(OCD)?, domains: read_tpw(TPW)? })
    }

    /// The policy, if any.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    fn policy_class(&self, category: &str, service: Option<&str>) -> Class {
        let essential = self.policy.as_ref().and_then(|p| p.category(category)).is_some_and(|c| c.required);
        Class {
            category: category.to_owned(),
            service: service.map(str::to_owned),
            source: "policy",
            essential,
        }
    }

    /// A request's URL.
    pub fn request(&self, url: &str) -> Option<Class> {
        if let Some(p) = &self.policy {
            if let Some(s) = p.services().iter().find(|s| s.matches_url(url)) {
                return Some(self.policy_class(&s.category, Some(&s.id)));
            }
        }
        let host = super::hosts::host(url);
        if host.is_empty() {
            return None;
        }
        self.domains.iter().find(|d| super::hosts::within(&host, &d.domain)).map(|d| Class {
            category: d.category.clone(),
            service: Some(d.entity.clone()),
            source: "tracker-domains",
            essential: !TPW_CONSENT.contains(&d.category.as_str()),
        })
    }

    /// A cookie's (or a storage key's) name.
    pub fn cookie(&self, name: &str) -> Option<Class> {
        if let Some(p) = &self.policy {
            if name == p.cookie().name {
                return Some(Class {
                    category: "consent".into(),
                    service: Some("consent cookie".into()),
                    source: "policy",
                    essential: true,
                });
            }
            for s in p.services() {
                if s.cookies.iter().any(|g: &Glob| g.matches(name)) {
                    return Some(self.policy_class(&s.category, Some(&s.id)));
                }
            }
        }
        // The longest matching entry: `_ga_XYZ` is `_ga_` (prefix), not `_ga`.
        self.cookies
            .iter()
            .filter(|c| if c.prefix { name.starts_with(&c.name) } else { name == c.name })
            .max_by_key(|c| c.name.len())
            .map(|c| Class {
                category: c.category.clone(),
                service: Some(c.platform.clone()),
                source: "open-cookie-database",
                essential: !OCD_CONSENT.contains(&c.category.as_str()),
            })
    }
}

fn read_ocd(text: &str) -> Result<Vec<CookieEntry>, String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().map_err(|e| format!("open-cookie-database.csv: {e}"))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("open-cookie-database.csv: no column {name}"))
    };
    let (platform, category, name, wildcard) =
        (col("Platform")?, col("Category")?, col("Cookie / Data Key name")?, col("Wildcard match")?);
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| format!("open-cookie-database.csv: {e}"))?;
        let field = |i: usize| row.get(i).unwrap_or("").trim();
        if field(name).is_empty() {
            continue;
        }
        out.push(CookieEntry {
            name: field(name).to_owned(),
            prefix: field(wildcard) == "1",
            platform: field(platform).to_owned(),
            category: field(category).to_ascii_lowercase(),
        });
    }
    Ok(out)
}

fn read_tpw(text: &str) -> Result<Vec<DomainEntry>, String> {
    #[derive(serde::Deserialize)]
    struct Entity {
        name: String,
        #[serde(default)]
        category: String,
        #[serde(default)]
        domains: Vec<String>,
    }
    let entities: Vec<Entity> =
        serde_json::from_str(text).map_err(|e| format!("third-party-web-entities.json: {e}"))?;
    let mut out = Vec::new();
    for e in entities {
        for d in e.domains {
            out.push(DomainEntry {
                domain: d.trim_start_matches("*.").to_ascii_lowercase(),
                entity: e.name.clone(),
                category: e.category.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier(policy: Option<&str>) -> Classifier {
        let policy = policy.map(|p| Policy::from_json(p).unwrap());
        Classifier::new(policy).unwrap()
    }

    #[test]
    fn datasets_load_and_know_the_usual_trackers() {
        let c = classifier(None);
        let ga = c.request("https://www.google-analytics.com/g/collect?v=2").expect("GA");
        assert_eq!((ga.category.as_str(), ga.source, ga.essential), ("analytics", "tracker-domains", false));
        let fb = c.request("https://connect.facebook.net/en_US/fbevents.js").expect("FB");
        assert!(!fb.essential, "{fb:?}");
        assert_eq!(c.request("https://example.org/app.js"), None);
        let ga_cookie = c.cookie("_ga").expect("_ga");
        assert_eq!((ga_cookie.category.as_str(), ga_cookie.essential), ("analytics", false));
        assert!(c.cookie("_pk_id.1.1fff").is_some_and(|c| !c.essential), "Matomo's prefix entry");
        assert!(c.cookie("_fbp").is_some_and(|c| c.category == "marketing"));
        assert_eq!(c.cookie("session_id_we_made_up_x7"), None);
    }

    #[test]
    fn the_policy_comes_first_and_its_required_categories_and_consent_cookie_are_essential() {
        let c = classifier(Some(
            r#"{"revision": 1, "cookie": {"name": "consent"},
                "categories": [{"id": "essential", "required": true}, {"id": "stats"}],
                "services": [
                    {"id": "ga", "kind": "ga4", "category": "stats", "config": {"measurement_id": "G-AB12CD34"},
                     "cookies": ["_ga", "_ga_*"]},
                    {"id": "chat", "kind": "custom", "category": "essential", "patterns": ["/chat/"], "cookies": ["chat_*"]}
                ]}"#,
        ));
        let ga = c.request("https://www.googletagmanager.com/gtag/js?id=G-AB12CD34").expect("ga");
        assert_eq!((ga.category.as_str(), ga.service.as_deref(), ga.source), ("stats", Some("ga"), "policy"));
        assert!(c.request("https://site.test/chat/widget.js").is_some_and(|c| c.essential));
        assert!(c.cookie("consent").is_some_and(|c| c.essential));
        assert!(c.cookie("_ga_XYZ").is_some_and(|c| c.source == "policy" && !c.essential));
        assert!(c.cookie("chat_1").is_some_and(|c| c.essential));
    }
}
