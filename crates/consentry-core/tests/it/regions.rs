//! The consent models by region: every model × signal × consent state as a
//! named test, and the properties no region rule may break.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{
    Consent, ConsentId, Decision, Location, Model, Policy, Region, RegionSource, Signals, decide, decide_at,
};
use proptest::prelude::*;

const NOW: u64 = 1_763_900_000;

fn policy() -> Policy {
    Policy::from_json(
        r#"{"revision": 3,
            "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
            "regions": {"rules": [
                {"where": ["EEA", "UK", "CH"], "model": "opt-in"},
                {"where": ["US-OPT-OUT"], "model": "opt-out"},
                {"where": ["JP"], "model": "notice"},
                {"where": ["AU"], "model": "none"}]}}"#,
    )
    .unwrap()
}

fn at(code: &str) -> Location {
    Location::new(Region::parse(code).unwrap_or_else(|| panic!("{code}")), RegionSource::Header)
}

fn consent(granted: &[&str], model: Model, age: u64) -> Consent {
    Consent::new(3, NOW - age, granted.iter().copied(), ConsentId::from_random([5; 16])).under(model)
}

const YEAR: u64 = 400 * 86_400;

/// The consent states of the table.
fn state(name: &str) -> Option<Consent> {
    match name {
        "none" => None,
        "in_analytics" => Some(consent(&["analytics"], Model::OptIn, 60)),
        "in_reject" => Some(consent(&[], Model::OptIn, 60)),
        "out_analytics" => Some(consent(&["analytics"], Model::OptOut, 60)),
        "out_all" => Some(consent(&["analytics", "advertising"], Model::OptOut, 60)),
        "expired_reject" => Some(consent(&[], Model::OptIn, YEAR)),
        other => panic!("no state {other}"),
    }
}

fn signals(name: &str) -> Signals {
    match name {
        "none" => Signals::NONE,
        "dnt" => Signals { dnt: true, gpc: false },
        "gpc" => Signals { dnt: false, gpc: true },
        other => panic!("no signal {other}"),
    }
}

fn check(d: &Decision, analytics: bool, advertising: bool, banner: bool, reason: &str) {
    assert!(d.allows("essential"));
    assert_eq!(d.allows("analytics"), analytics, "analytics: {d:?}");
    assert_eq!(d.allows("advertising"), advertising, "advertising: {d:?}");
    assert_eq!(d.needs_banner(), banner, "banner: {d:?}");
    let why = d.grant("advertising").map(|g| g.reason.as_str());
    assert_eq!(why, Some(reason), "advertising's reason: {d:?}");
}

macro_rules! rows {
    ($( $name:ident: $place:literal, $model:ident, $state:literal, $signal:literal
        => $a:literal, $d:literal, $banner:literal, $reason:literal; )*) => {$(
        #[test]
        fn $name() {
            let d = decide_at(&policy(), state($state).as_ref(), signals($signal), NOW, at($place));
            assert_eq!(d.model(), Model::$model);
            assert_eq!(d.location().region.map(|r| r.to_string()).as_deref(), Some($place));
            check(&d, $a, $d, $banner, $reason);
        }
    )*};
}

rows! {
    // opt-in (EEA): as before regions existed.
    opt_in_first_visit: "FR", OptIn, "none", "none" => false, false, true, "no-consent";
    opt_in_first_visit_dnt: "FR", OptIn, "none", "dnt" => false, false, false, "dnt";
    opt_in_first_visit_gpc: "FR", OptIn, "none", "gpc" => false, false, false, "gpc";
    opt_in_consented_analytics: "FR", OptIn, "in_analytics", "none" => true, false, false, "refused";
    opt_in_consented_analytics_dnt: "FR", OptIn, "in_analytics", "dnt" => false, false, false, "dnt";
    opt_in_consented_analytics_gpc: "FR", OptIn, "in_analytics", "gpc" => false, false, false, "gpc";
    opt_in_rejected_all: "FR", OptIn, "in_reject", "none" => false, false, false, "refused";
    opt_in_notice_dismissed_elsewhere_is_not_consent: "DE", OptIn, "out_all", "none" => false, false, true, "no-consent";
    opt_in_opt_out_choice_elsewhere_is_not_consent: "GB", OptIn, "out_analytics", "none" => false, false, true, "no-consent";
    opt_in_expired_rejection: "CH", OptIn, "expired_reject", "none" => false, false, true, "expired";
    // opt-out (US states): runs until the visitor opts out.
    opt_out_first_visit: "US-CA", OptOut, "none", "none" => true, true, true, "not-opted-out";
    opt_out_first_visit_gpc_opts_out_of_sale: "US-CA", OptOut, "none", "gpc" => true, false, false, "gpc";
    opt_out_first_visit_dnt: "US-CA", OptOut, "none", "dnt" => false, false, false, "dnt";
    opt_out_one_click_opt_out: "US-CO", OptOut, "out_analytics", "none" => true, false, false, "refused";
    opt_out_notice_dismissed: "US-CA", OptOut, "out_all", "none" => true, true, false, "consented";
    opt_out_notice_dismissed_then_gpc: "US-CA", OptOut, "out_all", "gpc" => true, false, false, "gpc";
    opt_out_opt_in_consent_kept: "US-TX", OptOut, "in_analytics", "none" => true, false, false, "refused";
    opt_out_opt_in_rejection_kept: "US-CA", OptOut, "in_reject", "none" => false, false, false, "refused";
    opt_out_expired_rejection_still_refuses: "US-CA", OptOut, "expired_reject", "none" => false, false, true, "refused";
    // notice: runs; the visitor is told.
    notice_first_visit: "JP", Notice, "none", "none" => true, true, true, "notice";
    notice_first_visit_gpc_honoured_by_policy: "JP", Notice, "none", "gpc" => false, false, false, "gpc";
    notice_first_visit_dnt: "JP", Notice, "none", "dnt" => false, false, false, "dnt";
    notice_dismissed: "JP", Notice, "out_all", "none" => true, true, false, "consented";
    notice_rejection_kept: "JP", Notice, "in_reject", "none" => false, false, false, "refused";
    notice_expired_rejection_still_refuses: "JP", Notice, "expired_reject", "none" => false, false, true, "refused";
    // none: runs; nothing to ask.
    none_first_visit: "AU", None, "none", "none" => true, true, false, "not-required";
    none_first_visit_dnt: "AU", None, "none", "dnt" => false, false, false, "dnt";
    none_first_visit_gpc: "AU", None, "none", "gpc" => false, false, false, "gpc";
    none_rejection_kept: "AU", None, "in_reject", "none" => false, false, false, "refused";
    none_expired_rejection_still_refuses: "AU", None, "expired_reject", "none" => false, false, false, "refused";
}

#[test]
fn an_unknown_region_gets_the_default_and_without_regions_decide_at_is_decide() {
    let p = policy();
    let d = decide_at(&p, None, Signals::NONE, NOW, Location::UNKNOWN);
    assert_eq!(d.model(), Model::OptIn);
    check(&d, false, false, true, "no-consent");
    // Somewhere no rule names: the default (opt-in).
    assert_eq!(decide_at(&p, None, Signals::NONE, NOW, at("BR")).model(), Model::OptIn);
    assert_eq!(decide_at(&p, None, Signals::NONE, NOW, at("US-WA")).model(), Model::OptIn);
    let plain = Policy::from_json(
        r#"{"revision": 3, "categories": [{"id": "essential", "required": true},
        {"id": "analytics"}]}"#,
    )
    .unwrap();
    let c = consent(&["analytics"], Model::OptIn, 60);
    for place in ["US-CA", "FR", "JP"] {
        let a = decide_at(&plain, Some(&c), Signals::NONE, NOW, at(place));
        let b = decide(&plain, Some(&c), Signals::NONE, NOW);
        assert_eq!(
            (a.allows("analytics"), a.needs_banner(), a.tk()),
            (b.allows("analytics"), b.needs_banner(), b.tk())
        );
    }
}

#[test]
fn tk_says_tracking_where_the_region_allows_it_without_consent() {
    let p = policy();
    assert_eq!(decide_at(&p, None, Signals::NONE, NOW, at("US-CA")).tk().as_str(), "T");
    assert_eq!(decide_at(&p, None, Signals::NONE, NOW, at("FR")).tk().as_str(), "N");
    let c = consent(&["analytics"], Model::OptIn, 60);
    assert_eq!(decide_at(&p, Some(&c), Signals::NONE, NOW, at("FR")).tk().as_str(), "C");
}

#[test]
fn a_category_marked_sale_sharing_is_opted_out_by_gpc_too() {
    let p = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"},
            {"id": "personalisation", "sale_sharing": true}],
            "texts": {"en": {"categories": {"personalisation": {"title": "Personalisation"}}}},
            "regions": {"rules": [{"where": ["US-CA"], "model": "opt-out"}], "default": "none"}}"#,
    )
    .unwrap();
    let d = decide_at(&p, None, Signals { dnt: false, gpc: true }, NOW, at("US-CA"));
    assert!(d.allows("analytics") && !d.allows("personalisation") && d.signal_honoured());
    let d = decide_at(&p, None, Signals::NONE, NOW, at("NZ"));
    assert_eq!(d.model(), Model::None);
    assert!(d.allows("personalisation") && !d.needs_banner());
}

fn refused(r: Result<(), String>) -> String {
    r.expect_err("accepted")
}

#[test]
fn bad_regions_are_refused_with_their_path() {
    let with = |regions: &str| {
        Policy::from_json(&format!(
            r#"{{"revision": 1, "categories": [{{"id": "essential", "required": true}}], "regions": {regions}}}"#
        ))
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    let err = refused(with(r#"{"rules": [{"where": ["FR", "EAA"], "model": "opt-in"}]}"#));
    assert!(
        err.contains("regions.rules[0].where[1]") && err.contains("`EAA`") && err.contains("EEA"),
        "{err}"
    );
    let err = refused(with(r#"{"rules": [{"where": ["fr"], "model": "opt-in"}]}"#));
    assert!(err.contains("where[0]") && err.contains("upper case"), "{err}");
    let err = refused(with(r#"{"rules": [{"where": [], "model": "opt-in"}]}"#));
    assert!(err.contains("regions.rules[0].where"), "{err}");
    let err = refused(with(r#"{"rules": [{"where": ["FR"], "model": "opt-maybe"}]}"#));
    assert!(err.contains("regions.rules[0].model") && err.contains("`opt-out`"), "{err}");
    let err = refused(with(r#"{"rules": [{"where": ["FR"]}]}"#));
    assert!(err.contains("missing field `model`"), "{err}");
    let err = refused(with(r#"{"default": "maybe"}"#));
    assert!(err.contains("regions.default"), "{err}");
    let err = refused(with(r#"{"rules": [], "colour": 1}"#));
    assert!(err.contains("regions.colour"), "{err}");
    assert!(
        with(r#"{"rules": [{"where": ["US-CA", "GB-ENG", "UK"], "model": "notice"}], "default": "none"}"#)
            .is_ok()
    );
    let err = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true, "sale_sharing": true}]}"#,
    )
    .map(|_| ())
    .map_err(|e| e.to_string());
    let err = refused(err);
    assert!(err.contains("categories[0].sale_sharing"), "{err}");
}

#[test]
fn the_policy_json_round_trips_its_regions() {
    let p = policy();
    let again = Policy::from_json(&p.to_json()).unwrap();
    assert_eq!(again.regions(), p.regions());
    // A policy without regions serialises without them, as it always did.
    let plain =
        Policy::from_json(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}]}"#)
            .unwrap();
    assert!(!plain.to_json().contains("regions"));
}

fn model_strategy() -> impl Strategy<Value = Model> {
    prop::sample::select(Model::ALL.to_vec())
}

const PLACES: &[&str] = &["EEA", "EU", "UK", "US-OPT-OUT", "FR", "US", "US-CA", "JP", "CH", "GB-ENG"];
const VISITORS: &[&str] = &["FR", "DE", "GB", "GB-ENG", "CH", "US-CA", "US-WA", "US", "JP", "BR", "NO"];

fn regions_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (prop::collection::vec(prop::sample::select(PLACES), 1..4), model_strategy()),
            0..5,
        ),
        model_strategy(),
    )
        .prop_map(|(rules, default)| {
            let rules: Vec<String> = rules
                .into_iter()
                .map(|(places, model)| {
                    let places: Vec<String> = places.iter().map(|p| format!("\"{p}\"")).collect();
                    format!(r#"{{"where": [{}], "model": "{model}"}}"#, places.join(","))
                })
                .collect();
            format!(r#"{{"rules": [{}], "default": "{default}"}}"#, rules.join(","))
        })
}

fn random_policy(regions: &str) -> Policy {
    Policy::from_json(&format!(
        r#"{{"revision": 3, "categories": [{{"id": "essential", "required": true}}, {{"id": "analytics"}},
            {{"id": "advertising"}}, {{"id": "social", "sale_sharing": true}}],
            "texts": {{"en": {{"categories": {{"social": {{"title": "Social"}}}}}}}},
            "regions": {regions}}}"#
    ))
    .unwrap()
}

/// A current consent made under `model` (sent or not) and the decision
/// for `visitor` under a random policy's `regions`.
fn decided(
    regions: &str,
    granted: &[&str],
    model: Model,
    visitor: &str,
    with_cookie: bool,
    signals: Signals,
) -> (Consent, Decision) {
    let p = random_policy(regions);
    let c = Consent::new(3, NOW - 60, granted.iter().copied(), ConsentId::from_random([1; 16])).under(model);
    let d = decide_at(&p, with_cookie.then_some(&c), signals, NOW, at(visitor));
    (c, d)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A visitor who chose under opt-in: whatever the rules, wherever the
    /// visitor is now, with any signal, nothing they refused is granted.
    #[test]
    fn no_region_rule_grants_what_an_opt_in_visitor_refused(
        regions in regions_strategy(),
        granted in prop::sample::subsequence(vec!["analytics", "advertising", "social"], 0..=3),
        visitor in prop::sample::select(VISITORS),
        age in prop_oneof![Just(60u64), Just(YEAR)],
        revision in prop_oneof![Just(3u32), Just(2u32)],
        dnt: bool,
        gpc: bool,
    ) {
        let p = random_policy(&regions);
        let c = Consent::new(revision, NOW - age, granted.iter().copied(), ConsentId::from_random([1; 16]));
        let d = decide_at(&p, Some(&c), Signals { dnt, gpc }, NOW, at(visitor));
        for cat in ["analytics", "advertising", "social"] {
            if !granted.contains(&cat) {
                prop_assert!(!d.allows(cat), "{} granted in {} ({:?}) against {:?}", cat, visitor, d.model(), c);
            }
        }
    }

    /// Where opt-in applies nothing optional runs without a current opt-in
    /// consent, whatever cookie (of any model, age or revision) is sent.
    #[test]
    fn where_opt_in_applies_nothing_runs_without_an_opt_in_consent(
        regions in regions_strategy(),
        granted in prop::sample::subsequence(vec!["analytics", "advertising", "social"], 0..=3),
        model in model_strategy(),
        visitor in prop::sample::select(VISITORS),
        with_cookie: bool,
    ) {
        let (c, d) = decided(&regions, &granted, model, visitor, with_cookie, Signals::NONE);
        if d.model() == Model::OptIn && (!with_cookie || c.model() != Model::OptIn) {
            for cat in ["analytics", "advertising", "social"] {
                prop_assert!(!d.allows(cat));
            }
        }
    }

    /// `Sec-GPC: 1` under opt-out never lets a sale/sharing category run.
    #[test]
    fn gpc_under_opt_out_never_grants_sale_or_sharing(
        regions in regions_strategy(),
        granted in prop::sample::subsequence(vec!["analytics", "advertising", "social"], 0..=3),
        model in model_strategy(),
        visitor in prop::sample::select(VISITORS),
        with_cookie: bool,
    ) {
        let (_, d) = decided(&regions, &granted, model, visitor, with_cookie, Signals { dnt: false, gpc: true });
        if d.model() == Model::OptOut {
            prop_assert!(!d.allows("advertising") && !d.allows("social"));
        }
    }

    /// Cookies of every model survive encoding, and version-1 cookies are
    /// exactly those written under opt-in.
    #[test]
    fn cookies_of_every_model_round_trip(
        granted in prop::collection::vec("[a-z][a-z0-9_-]{0,31}", 0..6),
        model in model_strategy(),
        at_time in 0u64..1_000_000_000_000,
    ) {
        let c = Consent::new(4, at_time, granted, ConsentId::from_random([3; 16])).under(model);
        let encoded = c.encode();
        prop_assert_eq!(encoded.starts_with("v1."), model == Model::OptIn);
        let back = Consent::decode(&encoded);
        prop_assert_eq!(back.as_ref().map(Consent::model), Ok(c.model()));
        prop_assert_eq!(back.map(|b| b.granted().to_vec()), Ok(c.granted().to_vec()));
    }
}

#[test]
fn todays_cookies_keep_working_and_version_2_is_strict() {
    let id = ConsentId::from_random([7; 16]);
    // Written by the previous release (version 1): opt-in consent, as before.
    let old = format!("v1.3.1763800000.analytics.{id}");
    let c = Consent::decode(&old).unwrap();
    assert_eq!(c.model(), Model::OptIn);
    assert!(decide(&policy(), Some(&c), Signals::NONE, NOW).allows("analytics"));
    assert!(decide_at(&policy(), Some(&c), Signals::NONE, NOW, at("FR")).allows("analytics"));
    for good in [format!("v2.3.1763800000.analytics.{id}.o"), format!("v2.3.1763800000..{id}.n")] {
        assert!(Consent::decode(&good).is_ok(), "{good}");
    }
    for bad in [
        format!("v1.3.1763800000.analytics.{id}.o"),
        format!("v2.3.1763800000.analytics.{id}"),
        format!("v2.3.1763800000.analytics.{id}.i"),
        format!("v2.3.1763800000.analytics.{id}.o.o"),
        format!("v3.3.1763800000.analytics.{id}.o"),
    ] {
        assert!(Consent::decode(&bad).is_err(), "{bad}");
    }
    // Two copies, one an acknowledged notice: not consent where opt-in applies.
    let notice = consent(&["analytics"], Model::Notice, 30).encode();
    let header = format!("consentry={old}; consentry={notice}");
    let merged = consentry_core::consent_from_headers([header.as_bytes()], "consentry").expect("found");
    assert_eq!(merged.model(), Model::Notice);
}
