//! Consent per service: a consent may grant one service of a category and
//! not another; every decision follows it, and today's cookies (categories
//! only) read as before.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{
    Consent, ConsentId, Location, Model, Policy, Region, RegionSource, Signals, decide, decide_at,
};
use proptest::prelude::*;

const NOW: u64 = 1_763_900_000;

fn policy() -> Policy {
    Policy::from_json(
        r#"{"revision": 2,
            "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
            "services": [
              {"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}, "cookies": ["_ga", "_ga_*"]},
              {"id": "gtm", "kind": "gtm", "category": "analytics", "config": {"container_id": "GTM-AB12CD"}, "cookies": ["_gtm"]},
              {"id": "matomo", "kind": "matomo", "category": "analytics", "config": {"url": "https://stats.example/", "site_id": "1"}, "cookies": ["_pk_*"]},
              {"id": "ads", "kind": "custom", "category": "advertising", "patterns": ["/ads/"], "cookies": ["_ads"]},
              {"id": "pixel", "kind": "custom", "category": "advertising", "patterns": ["/pixel/"], "cookies": ["_px"]}],
            "regions": {"rules": [{"where": ["US-CA"], "model": "opt-out"}]}}"#,
    )
    .unwrap()
}

fn consent(granted: &[&str]) -> Consent {
    Consent::new(2, NOW - 60, granted.iter().copied(), ConsentId::from_random([4; 16]))
}

fn runs(p: &Policy, c: &Consent, signals: Signals) -> Vec<String> {
    let d = decide(p, Some(c), signals, NOW);
    p.services().iter().filter(|s| d.service_may_run(s)).map(|s| s.id.clone()).collect()
}

#[test]
fn one_service_of_a_category_runs_and_the_others_do_not() {
    let p = policy();
    let c = consent(&["ga4"]);
    let d = decide(&p, Some(&c), Signals::NONE, NOW);
    assert_eq!(runs(&p, &c, Signals::NONE), ["ga4"]);
    assert!(!d.allows("analytics"), "the category is not granted whole");
    assert!(!d.needs_banner() && d.tk().as_str() == "C");
    let google = d.google_consent(&p).expect("google services");
    assert!(google.analytics && !google.ads, "Consent Mode: GA4 may measure");
    let matomo = p.service("matomo").expect("matomo");
    assert_eq!(d.matomo_command(matomo), Some("forgetConsentGiven"));
    assert_eq!(
        d.refused_cookies(&p, ["_ga", "_ga_X", "_gtm", "_pk_id.1", "_ads"]),
        ["_gtm", "_pk_id.1", "_ads"]
    );
    assert!(d.allows_marked(&p, None, Some("ga4")) && !d.allows_marked(&p, None, Some("gtm")));
    assert!(
        !d.allows_marked(&p, Some("analytics"), None),
        "an element gated by the whole category stays inert"
    );
    assert!(d.allows_marked(&p, Some("analytics"), Some("ga4")), "the server marks GA's tags with both");
    assert!(!d.allows_marked(&p, Some("analytics"), Some("gtm")));
    assert!(!d.allows_marked(&p, Some("advertising"), Some("ga4")), "another category's gate still holds");
}

#[test]
fn todays_cookies_grant_whole_categories_as_before() {
    let p = policy();
    let id = ConsentId::from_random([9; 16]);
    let old = Consent::decode(&format!("v1.2.{}.analytics.{id}", NOW - 60)).unwrap();
    assert_eq!(runs(&p, &old, Signals::NONE), ["ga4", "gtm", "matomo"]);
    let all = Consent::decode(&format!("v1.2.{}.advertising~analytics.{id}", NOW - 60)).unwrap();
    assert_eq!(runs(&p, &all, Signals::NONE), ["ga4", "gtm", "matomo", "ads", "pixel"]);
}

#[test]
fn a_signal_or_an_outdated_consent_grants_no_service() {
    let p = policy();
    let c = consent(&["ga4", "ads"]);
    assert!(runs(&p, &c, Signals { dnt: true, gpc: false }).is_empty());
    assert!(runs(&p, &c, Signals { dnt: false, gpc: true }).is_empty());
    let old = Consent::new(1, NOW - 60, ["ga4"], ConsentId::from_random([1; 16]));
    let d = decide(&p, Some(&old), Signals::NONE, NOW);
    assert!(!d.allows_service("ga4") && d.needs_banner());
}

#[test]
fn under_opt_out_gpc_turns_off_a_sold_service_granted_on_its_own() {
    let p = policy();
    let ca = Location::new(Region::parse("US-CA").expect("code"), RegionSource::Header);
    let c = consent(&["ga4", "ads"]).under(Model::OptOut);
    let d = decide_at(&p, Some(&c), Signals { dnt: false, gpc: true }, NOW, ca);
    assert!(d.allows_service("ga4") && !d.allows_service("ads") && !d.allows_service("pixel"));
    assert!(d.signal_honoured(), "the visitor is told GPC opted them out");
    let d = decide_at(&p, Some(&c), Signals::NONE, NOW, ca);
    assert!(d.allows_service("ads") && !d.allows_service("pixel"));
}

#[test]
fn choices_are_recorded_in_normal_form() {
    let p = policy();
    assert_eq!(p.choice(["gtm", "ga4", "nope"]), ["ga4", "gtm"]);
    assert_eq!(p.choice(["ga4", "analytics", "pixel"]), ["analytics", "pixel"]);
    assert_eq!(consentry_core::choice_json(&p.choice(["ga4"])), r#"{"granted":["ga4"]}"#);
    let c = consent(&p.choice(["pixel", "analytics"]));
    assert_eq!(c.encode().split('.').nth(3), Some("analytics~pixel"));
}

#[test]
fn a_service_named_like_a_category_or_too_many_services_is_refused() {
    let err = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "video"}],
            "services": [{"id": "video", "kind": "custom", "category": "video", "patterns": ["/v/"]}],
            "texts": {"en": {"categories": {"video": {"title": "Video"}}}}}"#,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
    .err()
    .unwrap_or_default();
    assert!(err.contains("services[0].id") && err.contains("also a category id"), "{err}");
    let services: Vec<String> = (0..65)
        .map(|i| {
            format!(r#"{{"id": "s{i}", "kind": "custom", "category": "essential", "patterns": ["/s{i}/"]}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"revision": 1, "categories": [{{"id": "essential", "required": true}}], "services": [{}]}}"#,
        services.join(",")
    );
    let err = Policy::from_json(&json).map(|_| ()).map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(err.contains("65 services declared, at most 64"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// No service runs unless it or its category was granted, whatever the
    /// ids, signals or place; and granting a category is granting all its
    /// services.
    #[test]
    fn a_service_runs_only_when_it_or_its_category_was_granted(
        ids in prop::sample::subsequence(vec!["analytics", "advertising", "ga4", "gtm", "matomo", "ads", "pixel"], 0..=7),
        dnt: bool,
        gpc: bool,
        place in prop::sample::select(vec!["FR", "US-CA", "JP"]),
    ) {
        let p = policy();
        let c = consent(&p.choice(ids.iter().copied()));
        let at = Location::new(Region::parse(place).expect("code"), RegionSource::Header);
        let d = decide_at(&p, Some(&c), Signals { dnt, gpc }, NOW, at);
        for s in p.services() {
            if d.allows_service(&s.id) {
                prop_assert!(ids.contains(&s.id.as_str()) || ids.contains(&s.category.as_str()), "{} runs", s.id);
            }
            if d.allows(&s.category) {
                prop_assert!(d.allows_service(&s.id));
            }
        }
    }
}

#[test]
fn each_services_cookies_are_a_table_from_the_policy_in_the_visitors_language() {
    let p = Policy::from_json(
        r#"{"revision": 1, "language": "en",
            "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
            "services": [{"id": "matomo", "name": "Matomo", "kind": "matomo", "category": "analytics",
              "config": {"url": "https://stats.example/", "site_id": "1"},
              "cookies": [{"name": "_pk_id.*", "purpose": {"en": "Recognises a returning visitor", "fr": "Reconnaît un visiteur"},
                           "lifetime": {"en": "13 months", "fr": "13 mois"}},
                          {"name": "_pk_ses.*", "provider": "Stats Inc.", "lifetime": "30 min"},
                          "_pk_ref.*"]}]}"#,
    )
    .unwrap();
    assert_eq!(p.services()[0].cookies.len(), 3, "every entry is still a cookie to delete on withdrawal");
    let again = Policy::from_json(&p.to_json()).unwrap();
    assert_eq!(
        again.cookie_info("matomo", "_pk_id.*"),
        p.cookie_info("matomo", "_pk_id.*"),
        "to_json keeps the objects"
    );
    let dialog = |lang: &str| consentry_core::render::dialog(&p, &p.texts_for(&[lang]));
    let fr = dialog("fr");
    assert!(fr.contains("<details class=\"consentry-cookies\"><summary>Cookies (3)</summary>"), "{fr}");
    assert!(
        fr.contains("<th scope=\"col\">Finalité</th>")
            && fr.contains("Reconnaît un visiteur")
            && fr.contains("13 mois")
    );
    assert!(
        fr.contains("<td>Stats Inc.</td>") && fr.contains("<td>Matomo</td>"),
        "provider, else the service"
    );
    assert!(
        fr.contains("<td><code>_pk_ref.*</code></td><td>Matomo</td><td>\u{2014}</td>"),
        "a dash where the policy says nothing"
    );
    assert!(dialog("en").contains("13 months"));
    let bad = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}],
            "services": [{"id": "x", "kind": "custom", "category": "essential", "patterns": ["/x/"], "cookies": [{"purpose": "?"}]}]}"#,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
    .err()
    .unwrap_or_default();
    assert!(bad.contains("services[0].cookies[0]") && bad.contains("`name`"), "{bad}");
}

#[test]
fn do_not_sell_keeps_what_runs_now_less_the_sale_and_sharing_categories() {
    let p = policy();
    let d = |ids: &[&str]| decide(&p, Some(&consent(ids)), Signals::NONE, NOW);
    assert_eq!(d(&["ga4", "ads"]).opt_out_choice(&p), ["ga4"], "a service granted on its own is kept");
    assert_eq!(d(&["analytics", "advertising"]).opt_out_choice(&p), ["analytics"]);
    assert!(d(&[]).opt_out_choice(&p).is_empty());
    let ca = Location::new(Region::parse("US-CA").expect("code"), RegionSource::Header);
    let first_visit = decide_at(&p, None, Signals::NONE, NOW, ca);
    assert_eq!(first_visit.opt_out_choice(&p), ["analytics"], "opt-out default: all runs, less advertising");
}
