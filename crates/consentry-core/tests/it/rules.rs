//! The four decision rules of DESIGN.md, one at a time, and policy validation.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{Consent, ConsentId, Policy, Problem, Reason, Signals, TextKey, decide};

const NOW: u64 = 1_763_900_000;

fn policy(extra: &str) -> Policy {
    let json = format!(
        r#"{{"revision": 4, {extra} "categories": [{{"id": "essential", "required": true}}, {{"id": "analytics"}}, {{"id": "advertising"}}]}}"#
    );
    Policy::from_json(&json).unwrap()
}

fn consent(revision: u32, at: u64, granted: &[&str]) -> Consent {
    Consent::new(revision, at, granted.iter().copied(), ConsentId::from_random([5; 16]))
}

#[test]
fn required_categories_are_granted_even_under_a_signal() {
    let p = policy("");
    for signals in [Signals::NONE, Signals { dnt: true, gpc: true }] {
        let d = decide(&p, None, signals, NOW);
        assert_eq!(d.grant("essential").map(|g| (g.granted, g.reason)), Some((true, Reason::Required)));
    }
}

#[test]
fn an_honoured_signal_wins_over_an_earlier_consent() {
    let p = policy("");
    let c = consent(4, NOW - 10, &["analytics", "advertising"]);
    let d = decide(&p, Some(&c), Signals { dnt: false, gpc: true }, NOW);
    assert!(!d.allows("analytics") && !d.allows("advertising") && !d.needs_banner());
    assert!(d.signal_honoured());
}

#[test]
fn an_ignored_signal_changes_nothing_but_tk() {
    let p = policy(r#""signals": {"dnt": "ignore", "gpc": "ignore"},"#);
    let d = decide(&p, None, Signals { dnt: true, gpc: true }, NOW);
    assert!(d.needs_banner());
    assert_eq!(d.tk().as_str(), "D");
}

#[test]
fn a_valid_consent_grants_exactly_what_it_lists() {
    let p = policy("");
    let d = decide(&p, Some(&consent(4, NOW - 10, &["advertising"])), Signals::NONE, NOW);
    assert!(d.allows("advertising") && !d.allows("analytics") && !d.needs_banner());
    assert_eq!(d.grant("analytics").map(|g| g.reason), Some(Reason::Refused));
    assert_eq!(d.grant("advertising").map(|g| g.reason), Some(Reason::Consented));
    assert_eq!(d.tk().as_str(), "C");
}

#[test]
fn a_consent_listing_unknown_categories_grants_only_known_ones() {
    let p = policy("");
    let d = decide(&p, Some(&consent(4, NOW, &["analytics", "from-the-future"])), Signals::NONE, NOW);
    assert_eq!(d.granted().collect::<Vec<_>>(), ["essential", "analytics"]);
    assert!(!d.allows("from-the-future"));
}

#[test]
fn an_expired_consent_asks_again() {
    let p = policy(r#""cookie": {"max_age_days": 30},"#);
    let d = decide(&p, Some(&consent(4, NOW - 31 * 86_400, &["analytics"])), Signals::NONE, NOW);
    assert!(d.needs_banner() && !d.allows("analytics"));
    assert_eq!(d.basis(), Reason::Expired);
    let d = decide(&p, Some(&consent(4, NOW - 29 * 86_400, &["analytics"])), Signals::NONE, NOW);
    assert!(d.allows("analytics"));
}

#[test]
fn a_consent_from_another_revision_asks_again() {
    let p = policy("");
    for rev in [3, 5] {
        let d = decide(&p, Some(&consent(rev, NOW, &["analytics"])), Signals::NONE, NOW);
        assert!(d.needs_banner() && !d.allows("analytics"));
        assert_eq!(d.basis(), Reason::RevisionChanged);
    }
}

#[test]
fn a_consent_dated_far_in_the_future_is_not_trusted() {
    let p = policy("");
    let d = decide(&p, Some(&consent(4, NOW + 2 * 86_400, &["analytics"])), Signals::NONE, NOW);
    assert!(d.needs_banner() && !d.allows("analytics"));
    let d = decide(&p, Some(&consent(4, u64::MAX - 10, &["analytics"])), Signals::NONE, u64::MAX - 5);
    assert!(d.allows("analytics"), "no overflow near the end of time");
    let d = decide(&p, Some(&consent(4, u64::MAX, &["analytics"])), Signals::NONE, 0);
    assert!(!d.allows("analytics"), "no overflow at the start of time");
}

#[test]
fn no_consent_denies_everything_optional_and_asks() {
    let d = decide(&policy(""), None, Signals::NONE, NOW);
    assert!(d.needs_banner());
    assert_eq!(d.tk().as_str(), "N");
    assert_eq!(d.granted().collect::<Vec<_>>(), ["essential"]);
}

#[test]
fn unknown_categories_and_services_are_never_allowed() {
    let d = decide(&policy(""), Some(&consent(4, NOW, &["analytics"])), Signals::NONE, NOW);
    assert!(!d.allows("nope") && !d.allows_service("nope") && !d.allows(""));
}

fn error_of(json: &str) -> (String, Problem, String) {
    let e = Policy::from_json(json).err().unwrap_or_else(|| panic!("accepted: {json}"));
    (e.path().to_owned(), e.problem().clone(), e.to_string())
}

#[test]
fn an_unknown_field_is_named_with_its_path() {
    let (path, _, msg) = error_of(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true, "colour": "red"}]}"#,
    );
    assert_eq!(path, "categories[0].colour");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
    let (path, _, msg) = error_of(
        r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "m", "kind": "matomo", "category": "a", "config": {"url": "/m/", "site_id": "1", "siteid": "2"}}]}"#,
    );
    assert_eq!(path, "services[0].config.siteid");
    assert!(msg.contains("unknown field `siteid`"), "{msg}");
}

#[test]
fn a_service_in_an_undeclared_category_is_refused() {
    let (path, problem, msg) = error_of(
        r#"{"revision": 1, "categories": [{"id": "analytics"}], "services": [{"id": "ga4", "kind": "ga4", "category": "analytic", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    );
    assert_eq!(path, "services[0].category");
    assert!(matches!(problem, Problem::UnknownCategory { .. }));
    assert!(msg.contains("analytic") && msg.contains("declared: analytics"), "{msg}");
}

#[test]
fn duplicate_ids_revision_zero_and_bad_google_ids_are_refused() {
    let cases: &[(&str, &str)] = &[
        (r#"{"revision": 1, "categories": [{"id": "a"}, {"id": "a"}]}"#, "categories[1].id"),
        (r#"{"revision": 0, "categories": [{"id": "a"}]}"#, "revision"),
        (r#"{"revision": 1, "categories": []}"#, "categories"),
        (r#"{"revision": 1, "categories": [{"id": "Bad Id"}]}"#, "categories[0].id"),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "g", "kind": "ga4", "category": "a", "config": {"measurement_id": "UA-1234"}}]}"#,
            "services[0].config.measurement_id",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "g", "kind": "gtm", "category": "a", "config": {"container_id": "G-1234"}}]}"#,
            "services[0].config.container_id",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "g", "kind": "ga4", "category": "a", "config": {"measurement_id": "G-ABCD1234"}}, {"id": "g", "kind": "ga4", "category": "a", "config": {"measurement_id": "G-ABCD1234"}}]}"#,
            "services[1].id",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "m", "kind": "matomo", "category": "a", "config": {"url": "https://stats.example.org", "site_id": "1"}}]}"#,
            "services[0].config.url",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "m", "kind": "matomo", "category": "a", "config": {"url": "javascript:alert(1)/", "site_id": "1"}}]}"#,
            "services[0].config.url",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "c", "kind": "custom", "category": "a"}]}"#,
            "services[0].patterns",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [{"id": "c", "kind": "custom", "category": "a", "patterns": ["x"], "cookies": ["a;b"]}]}"#,
            "services[0].cookies[0]",
        ),
        (
            r#"{"revision": 1, "cookie": {"max_age_days": 400}, "categories": [{"id": "a"}]}"#,
            "cookie.max_age_days",
        ),
        (r#"{"revision": 1, "cookie": {"name": "a b"}, "categories": [{"id": "a"}]}"#, "cookie.name"),
        (r#"{"revision": 1, "signals": {"dnt": "maybe"}, "categories": [{"id": "a"}]}"#, "signals.dnt"),
        (
            r#"{"revision": 1, "categories": [{"id": "custom-one"}], "texts": {"en": {}}}"#,
            "texts.en.categories.custom-one.title",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "texts": {"sw": {"title": "x"}}}"#,
            "texts.sw.description",
        ),
        (r#"{"revision": 1, "categories": [{"id": "a"}], "texts": {"EN!": {}}}"#, "texts.EN!"),
        (
            r#"{"revision": 1, "categories": [{"id": "analytics"}], "texts": {"en": {"categories": {"analytic": {}}}}}"#,
            "texts.en.categories.analytic",
        ),
        (
            r#"{"revision": 1, "categories": [{"id": "a"}], "texts": {"en": {"titel": "x"}}}"#,
            "texts.en.titel",
        ),
    ];
    for (json, want) in cases {
        let (path, _, msg) = error_of(json);
        assert_eq!(&path, want, "{json} -> {msg}");
    }
}

#[test]
fn a_syntax_error_reports_line_and_column() {
    let (_, problem, msg) = error_of("{\n  \"revision\": 1,\n  oops\n}");
    assert!(matches!(problem, Problem::Syntax { line: 3, .. }), "{msg}");
}

/// A built-in pack, as shipped.
fn pack(lang: &str) -> consentry_core::Texts {
    let (_, json) = consentry_core::texts::PACK_SOURCES
        .iter()
        .find(|(l, _)| *l == lang)
        .unwrap_or_else(|| panic!("no pack {lang}"));
    consentry_core::texts::parse_pack(json).unwrap_or_else(|e| panic!("{lang}: {e}"))
}

#[test]
fn texts_fall_back_from_policy_to_the_language_pack_to_english() {
    let p = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "extra"}],
            "texts": {"fr": {"title": "Titre du site", "categories": {"extra": {"title": "En plus"}}}}}"#,
    )
    .unwrap();
    let (fr_pack, de_pack, en_pack) = (pack("fr"), pack("de"), pack("en"));
    let fr = p.texts_for(&["fr-CH", "en"]);
    assert_eq!(fr.lang(), "fr");
    assert_eq!(fr.get(TextKey::title), "Titre du site", "the policy's own text first");
    assert_eq!(Some(fr.get(TextKey::accept_all)), fr_pack.get(TextKey::accept_all), "then the pack");
    let essential = fr_pack.categories.get("essential").and_then(|c| c.title.as_deref());
    assert_eq!(Some(fr.category_title("essential")), essential);
    let de = p.texts_for(&["de-AT", "fr"]);
    assert_eq!(de.lang(), "de", "every built-in language is offered");
    assert_eq!(Some(de.get(TextKey::reject_all)), de_pack.get(TextKey::reject_all));
    assert_eq!(
        de.category_title("extra"),
        "En plus",
        "a custom category falls back to any declared language"
    );
    let en = p.texts_for(&["sw", "en-GB"]);
    assert_eq!(en.lang(), "en");
    assert_eq!(Some(en.get(TextKey::accept_all)), en_pack.get(TextKey::accept_all));
    assert_eq!(p.texts_for(&["sw"]).lang(), "en", "nothing matches: the policy's default language");
}

#[test]
fn every_language_pack_has_every_key_and_no_unknown_one() {
    let en = pack("en");
    for (lang, _) in consentry_core::texts::PACK_SOURCES {
        // parse_pack refuses unknown keys, with their path.
        let t = pack(lang);
        for key in TextKey::ALL {
            let text = t.get(*key).unwrap_or_else(|| panic!("{lang}: no `{}`", key.name()));
            assert!(!text.trim().is_empty(), "{lang}: `{}` is empty", key.name());
        }
        for id in consentry_core::texts::STANDARD_CATEGORIES {
            let c = t.categories.get(*id).unwrap_or_else(|| panic!("{lang}: no category `{id}`"));
            assert!(c.title.is_some() && c.description.is_some(), "{lang}: category `{id}`");
        }
        assert_eq!(t.categories.len(), en.categories.len(), "{lang}: only the standard categories");
        assert!(t.privacy_policy_url.is_none(), "{lang}: a pack has no site link");
        // The withdrawal sentence names the button that reopens the choice.
        let settings = t.get(TextKey::settings_link).unwrap_or_default();
        let withdraw = t.get(TextKey::withdraw_notice).unwrap_or_default();
        assert!(withdraw.contains(settings), "{lang}: withdraw_notice must name `{settings}`");
    }
    let tags: Vec<&str> = consentry_core::texts::PACK_SOURCES.iter().map(|(l, _)| *l).collect();
    assert!(tags.len() >= 35, "at least 35 languages, not {}", tags.len());
    // The EU's 24 official languages, the EEA's two more, Brazilian
    // Portuguese, and two written right to left.
    for want in [
        "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv", "mt",
        "nl", "pl", "pt", "ro", "sk", "sl", "sv", "nb", "is", "pt-BR", "ar", "he",
    ] {
        assert!(tags.contains(&want), "no `{want}` pack");
    }
    // Every file in lang/ is shipped, and every pack states its register.
    let dir = format!("{}/lang", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let tag = name.strip_suffix(".json").unwrap_or(&name);
        assert!(tags.contains(&tag), "lang/{name} is not in PACK_SOURCES");
    }
    for tag in &tags {
        assert!(
            consentry_core::texts::pack_register(tag).is_some(),
            "{tag}: no `register` (formal or informal)"
        );
    }
}

#[test]
fn a_regional_pack_is_chosen_over_its_primary_language_and_the_primary_otherwise() {
    let policy = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}]}"#,
    )
    .unwrap();
    let pt = |tag: &str| policy.texts_for(&[tag]).get(TextKey::settings_link).to_owned();
    let br = consentry_core::texts::parse_pack(include_str!("../../lang/pt-BR.json")).unwrap();
    let eu = consentry_core::texts::parse_pack(include_str!("../../lang/pt.json")).unwrap();
    assert_eq!(Some(pt("pt-BR").as_str()), br.get(TextKey::settings_link));
    assert_eq!(Some(pt("pt_br").as_str()), br.get(TextKey::settings_link));
    assert_eq!(Some(pt("pt-PT").as_str()), eu.get(TextKey::settings_link));
    let zh = consentry_core::texts::parse_pack(include_str!("../../lang/zh-Hans.json")).unwrap();
    assert_eq!(
        Some(policy.texts_for(&["zh-CN"]).get(TextKey::settings_link)),
        zh.get(TextKey::settings_link),
        "zh-CN reads the Simplified Chinese pack"
    );
}

#[test]
fn a_pack_with_a_register_other_than_formal_or_informal_is_refused() {
    assert!(consentry_core::texts::parse_pack(r#"{"register": "formal", "title": "x"}"#).is_ok());
    let e =
        consentry_core::texts::parse_pack(r#"{"register": "polite", "title": "x"}"#).expect_err("accepted");
    assert!(e.to_string().contains("register"), "{e}");
}

#[test]
fn a_pack_with_an_unknown_key_is_refused_with_its_path() {
    let e = consentry_core::texts::parse_pack(r#"{"title": "x", "titel": "y"}"#)
        .expect_err("accepted an unknown key");
    assert!(e.to_string().contains("titel"), "{e}");
}

#[test]
fn to_json_round_trips_through_from_json() {
    let json =
        std::fs::read_to_string(format!("{}/../../www/policies/redis.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let p = Policy::from_json(&json).unwrap();
    let again = Policy::from_json(&p.to_json()).unwrap();
    assert_eq!(p, again);
}
