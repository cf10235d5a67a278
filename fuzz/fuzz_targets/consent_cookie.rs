//! The consent-cookie codec (versions 1 and 2) and the Cookie-header scan on
//! arbitrary bytes: never a panic, never a grant the value did not list in
//! any consent model (per category and per service), and whatever decodes re-encodes to an equivalent
//! consent; the banner's reader of `document.cookie` finds exactly what the
//! server's header reader finds; region codes as CDNs send them never panic.
#![no_main]

use consentry_core::{
    Consent, Location, Policy, Region, RegionSource, Signals, consent_from_cookie_string, consent_from_headers,
    decide_at,
};
use libfuzzer_sys::fuzz_target;

const POLICY: &str = r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"},
    {"id": "advertising"}], "services": [
    {"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}},
    {"id": "ads", "kind": "custom", "category": "advertising", "patterns": ["/ads/"]}], "regions": {"rules": [{"where": ["EEA"], "model": "opt-in"},
    {"where": ["US-OPT-OUT"], "model": "opt-out"}, {"where": ["JP"], "model": "notice"},
    {"where": ["AU"], "model": "none"}]}}"#;

fuzz_target!(|data: &[u8]| {
    let found = consent_from_headers([data], "consentry");
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(consent_from_cookie_string(text, "consentry"), found);
        let (country, subdivision) = text.split_once('\n').unwrap_or((text, ""));
        if let Some(r) = Region::from_parts(country, Some(subdivision)) {
            assert_eq!(Region::parse(r.as_str()), Some(r));
        }
        if let Ok(c) = Consent::decode(text) {
            assert_eq!(Consent::decode(&c.encode()).as_ref(), Ok(&c));
            let Ok(policy) = Policy::from_json(POLICY) else { return };
            for place in ["FR", "US-CA", "JP", "AU", "BR"] {
                let at = Region::parse(place).map_or(Location::UNKNOWN, |r| Location::new(r, RegionSource::Header));
                for signals in [Signals::NONE, Signals { dnt: true, gpc: false }, Signals { dnt: false, gpc: true }] {
                    let d = decide_at(&policy, Some(&c), signals, c.given_at(), at);
                    for (id, g) in d.categories() {
                        assert!(!g.granted || id == "essential" || c.grants(id), "{place}: {id}");
                    }
                    for s in policy.services() {
                        let listed = c.grants(&s.id) || c.grants(&s.category);
                        assert!(!d.allows_service(&s.id) || listed, "{place}: {}", s.id);
                    }
                }
            }
        }
    }
    if let Some(c) = found {
        assert!(c.granted().len() <= 128);
    }
});
