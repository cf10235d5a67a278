//! Every row of the decision table in docs/demo-sites.md, against the presets in
//! `www/policies/`, plus the "valid consent granting analytics" rows.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{Consent, ConsentId, Decision, Policy, Reason, Signals, decide};

const NOW: u64 = 1_763_900_000;

fn preset(slug: &str) -> Policy {
    let path = format!("{}/../../www/policies/{slug}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Policy::from_json(&json).unwrap_or_else(|e| panic!("{slug}: {e}"))
}

const NO_SIGNAL: Signals = Signals { dnt: false, gpc: false };
const DNT: Signals = Signals { dnt: true, gpc: false };
const GPC: Signals = Signals { dnt: false, gpc: true };

fn first_visit(slug: &str, signals: Signals) -> Decision {
    decide(&preset(slug), None, signals, NOW)
}

fn with_analytics_consent(slug: &str, signals: Signals) -> Decision {
    let p = preset(slug);
    let c = Consent::new(p.revision(), NOW - 3600, ["analytics"], ConsentId::from_random([9; 16]));
    decide(&p, Some(&c), signals, NOW)
}

fn assert_nothing_optional(d: &Decision, policy: &Policy) {
    for c in policy.categories() {
        assert_eq!(d.allows(&c.id), c.required, "category {}", c.id);
    }
    for s in policy.services() {
        let required = policy.category(&s.category).is_some_and(|c| c.required);
        assert_eq!(d.allows_service(&s.id), required, "service {}", s.id);
    }
}

// --- rackslab: self-hosted Matomo, honours DNT -----------------------------

#[test]
fn rackslab_first_visit_without_signal_shows_banner_and_keeps_matomo_inert() {
    let d = first_visit("rackslab", NO_SIGNAL);
    assert!(d.needs_banner());
    assert!(!d.allows_service("matomo"));
    assert_eq!(d.grant("analytics").map(|g| g.reason), Some(Reason::NoConsent));
}

#[test]
fn rackslab_with_dnt_needs_no_banner_and_never_runs_matomo() {
    let d = first_visit("rackslab", DNT);
    assert!(!d.needs_banner());
    assert!(!d.allows_service("matomo"));
    assert_eq!(d.grant("analytics").map(|g| g.reason), Some(Reason::Dnt));
    assert_eq!(d.tk().as_str(), "N");
}

#[test]
fn rackslab_with_gpc_behaves_as_with_dnt() {
    let d = first_visit("rackslab", GPC);
    assert!(!d.needs_banner());
    assert!(!d.allows_service("matomo"));
    assert_eq!(d.grant("analytics").map(|g| g.reason), Some(Reason::Gpc));
}

#[test]
fn rackslab_with_analytics_consent_runs_matomo_unless_a_signal_is_sent() {
    assert!(with_analytics_consent("rackslab", NO_SIGNAL).allows_service("matomo"));
    assert!(!with_analytics_consent("rackslab", DNT).allows_service("matomo"));
    assert!(!with_analytics_consent("rackslab", GPC).allows_service("matomo"));
}

// --- redis: GA + GTM + ads, ignores DNT, honours GPC ------------------------

#[test]
fn redis_first_visit_without_signal_shows_banner_and_keeps_ga_gtm_ads_inert() {
    let d = first_visit("redis", NO_SIGNAL);
    assert!(d.needs_banner());
    for s in ["ga4", "gtm", "adnetwork", "video"] {
        assert!(!d.allows_service(s), "{s}");
    }
    assert!(d.allows("account"), "account cookies are required");
}

#[test]
fn redis_with_dnt_still_shows_banner_because_it_ignores_dnt() {
    let d = first_visit("redis", DNT);
    assert!(d.needs_banner());
    for s in ["ga4", "gtm", "adnetwork"] {
        assert!(!d.allows_service(s), "{s}");
    }
    assert_eq!(d.tk().as_str(), "D");
}

#[test]
fn redis_with_gpc_needs_no_banner_and_denies_everything_optional() {
    let d = first_visit("redis", GPC);
    assert!(!d.needs_banner());
    assert_nothing_optional(&d, &preset("redis"));
}

#[test]
fn redis_with_analytics_consent_runs_ga_even_with_dnt_but_not_with_gpc() {
    let d = with_analytics_consent("redis", NO_SIGNAL);
    assert!(d.allows_service("ga4") && d.allows_service("gtm") && !d.allows_service("adnetwork"));
    let d = with_analytics_consent("redis", DNT);
    assert!(d.allows_service("ga4"), "DNT is ignored by this policy");
    assert_eq!(d.tk().as_str(), "C");
    assert!(!with_analytics_consent("redis", GPC).allows_service("ga4"));
}

// --- mailjet: GA, Segment, Optimizely, VWO, Drift ----------------------------

#[test]
fn mailjet_first_visit_without_signal_shows_banner_and_keeps_all_third_party_tags_inert() {
    let d = first_visit("mailjet", NO_SIGNAL);
    assert!(d.needs_banner());
    assert_nothing_optional(&d, &preset("mailjet"));
}

#[test]
fn mailjet_with_dnt_needs_no_banner_and_denies_all() {
    let d = first_visit("mailjet", DNT);
    assert!(!d.needs_banner());
    assert_nothing_optional(&d, &preset("mailjet"));
}

#[test]
fn mailjet_with_gpc_behaves_as_with_dnt() {
    let d = first_visit("mailjet", GPC);
    assert!(!d.needs_banner());
    assert_nothing_optional(&d, &preset("mailjet"));
}

#[test]
fn mailjet_with_analytics_consent_runs_ga_and_segment_only() {
    let d = with_analytics_consent("mailjet", NO_SIGNAL);
    assert!(d.allows_service("ga4") && d.allows_service("segment"));
    assert!(!d.allows_service("optimizely") && !d.allows_service("vwo") && !d.allows_service("drift"));
    assert!(!with_analytics_consent("mailjet", DNT).allows_service("ga4"));
}

#[test]
fn mailjet_withdrawal_takes_effect_on_the_next_request() {
    let p = preset("mailjet");
    let id = ConsentId::from_random([3; 16]);
    let accepted =
        Consent::new(p.revision(), NOW - 60, ["analytics", "experiments", "functional"], id.clone());
    assert!(decide(&p, Some(&accepted), NO_SIGNAL, NOW).allows_service("vwo"));
    let withdrawn = Consent::new(p.revision(), NOW - 1, Vec::<&str>::new(), id);
    let d = decide(&p, Some(&withdrawn), NO_SIGNAL, NOW);
    assert!(!d.needs_banner());
    assert_nothing_optional(&d, &p);
}

// --- alkaes: session + remember-me, GA -------------------------------------

#[test]
fn alkaes_first_visit_without_signal_shows_banner_and_keeps_ga_inert() {
    let d = first_visit("alkaes", NO_SIGNAL);
    assert!(d.needs_banner());
    assert!(!d.allows_service("ga4"));
}

#[test]
fn alkaes_with_dnt_needs_no_banner_and_denies_ga() {
    let d = first_visit("alkaes", DNT);
    assert!(!d.needs_banner());
    assert!(!d.allows_service("ga4"));
}

#[test]
fn alkaes_with_gpc_behaves_as_with_dnt() {
    let d = first_visit("alkaes", GPC);
    assert!(!d.needs_banner());
    assert!(!d.allows_service("ga4"));
}

#[test]
fn alkaes_with_analytics_consent_runs_ga_unless_a_signal_is_sent() {
    assert!(with_analytics_consent("alkaes", NO_SIGNAL).allows_service("ga4"));
    assert!(!with_analytics_consent("alkaes", DNT).allows_service("ga4"));
    assert!(!with_analytics_consent("alkaes", GPC).allows_service("ga4"));
}

// --- kisslabs: no tracking at all ------------------------------------------

#[test]
fn kisslabs_never_needs_a_banner_without_signal() {
    let d = first_visit("kisslabs", NO_SIGNAL);
    assert!(!d.needs_banner());
    assert!(d.allows("essential"));
    assert!(preset("kisslabs").services().is_empty());
}

#[test]
fn kisslabs_never_needs_a_banner_with_dnt() {
    assert!(!first_visit("kisslabs", DNT).needs_banner());
}

#[test]
fn kisslabs_never_needs_a_banner_with_gpc() {
    assert!(!first_visit("kisslabs", GPC).needs_banner());
}

// --- every preset -----------------------------------------------------------

#[test]
fn every_preset_loads_and_has_english_and_its_site_language() {
    for (slug, lang) in
        [("rackslab", "en"), ("redis", "fr"), ("mailjet", "en"), ("alkaes", "fr"), ("kisslabs", "fr")]
    {
        let p = preset(slug);
        assert!(p.texts().contains_key("en"), "{slug} en");
        assert!(p.texts().contains_key(lang), "{slug} {lang}");
        assert_eq!(p.texts_for(&[lang]).lang(), lang);
    }
}

#[test]
fn every_preset_cookie_granting_everything_stays_under_200_bytes() {
    for slug in ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"] {
        let p = preset(slug);
        let all: Vec<&str> = p.categories().iter().map(|c| c.id.as_str()).collect();
        let c = Consent::new(p.revision(), NOW, all, ConsentId::from_random([0xff; 16]));
        let cookie = format!("{}={}", p.cookie().name, c.encode());
        assert!(cookie.len() < 200, "{slug}: {} bytes", cookie.len());
        println!("{slug}: {} bytes: {cookie}", cookie.len());
    }
}
