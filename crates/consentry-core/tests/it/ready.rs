//! The ready policy (what the browser banner reads) and the one markup
//! renderer: same decisions as the source policy, refused when foreign or
//! broken, hostile texts never become markup, languages negotiated by one rule.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::ready::{self, read_rules};
use consentry_core::render::{self, RenderedBy};
use consentry_core::{
    Consent, ConsentId, Policy, ReadyError, Signals, TextKey, accept_language, decide, negotiate,
};
use proptest::prelude::*;

fn preset(slug: &str) -> Policy {
    let path = format!("{}/../../www/policies/{slug}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Policy::from_json(&json).unwrap_or_else(|e| panic!("{slug}: {e}"))
}

const SLUGS: [&str; 5] = ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"];

fn ready_of(p: &Policy, langs: &[&str]) -> consentry_core::Ready {
    let json: serde_json::Value = serde_json::from_str(&p.to_ready_json(langs)).expect("ready JSON");
    ready::read(&json).unwrap_or_else(|e| panic!("ready policy refused: {e:?}"))
}

#[test]
fn the_ready_policy_decides_exactly_as_its_source_for_every_preset() {
    let signals = [Signals::NONE, Signals { dnt: true, gpc: false }, Signals { dnt: false, gpc: true }];
    for slug in SLUGS {
        let source = preset(slug);
        let browser = ready_of(&source, &["en"]).policy;
        let optional: Vec<&str> =
            source.categories().iter().filter(|c| !c.required).map(|c| c.id.as_str()).collect();
        let mut consents = vec![None];
        for n in 0..=optional.len() {
            let granted = optional[..n].to_vec();
            consents.push(Some(Consent::new(
                source.revision(),
                1_000,
                granted,
                ConsentId::from_random([7; 16]),
            )));
        }
        consents.push(Some(Consent::new(
            source.revision() + 1,
            1_000,
            optional.clone(),
            ConsentId::from_random([1; 16]),
        )));
        for consent in &consents {
            for s in signals {
                let a = decide(&source, consent.as_ref(), s, 2_000);
                let b = decide(&browser, consent.as_ref(), s, 2_000);
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{slug} {s:?} {consent:?}");
                for svc in source.services() {
                    let bsvc = browser.service(&svc.id).unwrap_or_else(|| panic!("{slug}: {} lost", svc.id));
                    assert_eq!(a.service_may_run(svc), b.service_may_run(bsvc), "{slug} {}", svc.id);
                    assert_eq!(a.matomo_command(svc), b.matomo_command(bsvc));
                }
                assert_eq!(a.google_consent(&source), b.google_consent(&browser), "{slug}");
                assert_eq!(browser.cookie().set_cookie("v", true), source.cookie().set_cookie("v", true));
            }
        }
        assert_eq!(browser.consent_endpoint(), source.consent_endpoint());
    }
}

#[test]
fn the_ready_policy_carries_the_rendered_markup_for_each_language_asked() {
    let p = preset("redis");
    let r = ready_of(&p, &["fr", "en-GB", "de"]);
    let langs: Vec<&str> = r.texts.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(langs, ["de", "en", "fr"]);
    assert_eq!(r.language, "fr", "the policy's default language");
    let fr = r.texts_for(&["fr-FR"]).expect("fr");
    let t = p.texts_for(&["fr"]);
    assert_eq!(fr.banner, render::banner(&p, &t, "#", None, RenderedBy::Client));
    assert_eq!(fr.dialog, render::dialog(&p, &t));
    assert!(fr.banner.contains("Google Analytics, Google Tag Manager, Advertising network, Video player"));
    assert_eq!(r.texts_for(&["ja"]).map(|t| &t.banner), Some(&fr.banner), "else the default language");
}

#[test]
fn server_and_browser_banners_are_the_same_markup_but_for_the_no_js_return_address() {
    let p = preset("rackslab").with_consent_endpoint("/consentry/consent");
    let t = p.texts_for(&["en"]);
    let server = render::banner(&p, &t, "/consentry/consent", Some("/page?x=1"), RenderedBy::Server);
    let client = render::banner(&p, &t, "/consentry/consent", None, RenderedBy::Client);
    let stripped = server
        .replace("<input type=\"hidden\" name=\"return_to\" value=\"/page?x=1\"/>", "")
        .replace("data-consentry-rendered=\"server\"", "data-consentry-rendered=\"client\"");
    assert_eq!(stripped, client);
}

#[test]
fn hostile_texts_never_become_markup_on_either_path() {
    let p = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
            "services": [{"id": "x", "name": "<img src=x onerror=alert(1)>", "kind": "custom", "category": "analytics",
                          "patterns": ["/x/"], "cookies": ["a\"b"]}],
            "texts": {"en": {"title": "\"><script>alert(1)</script>", "description": "a & b 'c'",
                             "privacy_policy_url": "/privacy?a=1&b=\"2\""}}}"#,
    );
    // A quote in a cookie pattern or a URL is refused before anything renders.
    assert!(p.is_err());
    let p = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
            "services": [{"id": "x", "name": "<img src=x onerror=alert(1)>", "kind": "custom", "category": "analytics", "patterns": ["/x/"]}],
            "texts": {"en": {"title": "\"><script>alert(1)</script>", "description": "a & b 'c'",
                             "privacy_policy_url": "/privacy?a=1&b=2"}}}"#,
    )
    .unwrap();
    let t = p.texts_for(&["en"]);
    for html in [
        render::banner(&p, &t, "/c?a=\"b\"", Some("/p?\"><x>"), RenderedBy::Server),
        render::dialog(&p, &t),
        p.to_ready_json(&["en"]),
    ] {
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"><x>") && !html.contains("\"><script"), "{html}");
    }
    let banner = render::banner(&p, &t, "#", None, RenderedBy::Client);
    assert!(banner.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(banner.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(banner.contains("a &amp; b &#39;c&#39;"));
    assert!(banner.contains("href=\"/privacy?a=1&amp;b=2\""));
    for bad in ["javascript:alert(1)", "//evil.example/x", "data:text/html,x"] {
        let json = format!(
            r#"{{"revision": 1, "categories": [{{"id": "essential", "required": true}}], "texts": {{"en": {{"privacy_policy_url": "{bad}"}}}}}}"#
        );
        assert!(Policy::from_json(&json).is_err(), "{bad} accepted as a privacy policy link");
    }
}

#[test]
fn the_first_layer_states_purposes_third_parties_refusal_and_withdrawal() {
    for slug in ["rackslab", "redis", "mailjet", "alkaes"] {
        let p = preset(slug);
        for lang in ["en", "fr", "de"] {
            let t = p.texts_for(&[lang]);
            let b = render::banner(&p, &t, "#", None, RenderedBy::Client);
            for c in p.categories().iter().filter(|c| !c.required) {
                assert!(
                    b.contains(&render::escape_html(t.category_title(&c.id))),
                    "{slug}/{lang}: purpose {}",
                    c.id
                );
            }
            for s in p.services() {
                assert!(
                    b.contains(&render::escape_html(s.name.as_deref().unwrap_or(&s.id))),
                    "{slug}/{lang}: {}",
                    s.id
                );
            }
            for key in
                [TextKey::refuse_notice, TextKey::withdraw_notice, TextKey::purposes, TextKey::third_parties]
            {
                assert!(b.contains(&render::escape_html(t.get(key))), "{slug}/{lang}: {}", key.name());
            }
        }
    }
}

#[test]
fn foreign_or_broken_ready_policies_are_refused_with_a_code() {
    let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    let source = value(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}]}"#);
    assert_eq!(ready::read(&source).err(), Some(ReadyError::NotReady));
    assert_eq!(
        ready::read(&value(r#"{"format": "consentry-ready/2"}"#)).err(),
        Some(ReadyError::UnknownFormat)
    );
    let good = preset("redis").to_ready_json(&["en"]);
    let good_rules = value(&good)["rules"].as_str().unwrap_or_default().to_owned();
    assert!(read_rules(&good_rules).is_ok());
    let broken = [
        good_rules.replace("revision\t3", "revision\t0"),
        good_rules.replace("revision\t3\n", ""),
        good_rules.replace("category\tanalytics\n", ""),
        good_rules.replace("category\tanalytics", "category\tAnalytics"),
        good_rules.replace("\tga4\tga4\t", "\tga4\tgoogle\t"),
        good_rules.replace("cookie\tconsentry", "cookie\tcon;sentry"),
        format!("{good_rules}colour\tred\n"),
        format!("{good_rules}category\tessential\n"),
        String::new(),
    ];
    for b in broken {
        assert_eq!(read_rules(&b).err(), Some(ReadyError::Malformed), "{b:?}");
    }
    let too_many: String = (0..65).map(|i| format!("category\tc{i}\n")).collect();
    let rules = format!("revision\t1\nlanguage\ten\ncookie\tc\t1\t/\nsignals\t1\t1\n{too_many}");
    assert_eq!(read_rules(&rules).err(), Some(ReadyError::Malformed), "more than 64 categories");
}

#[test]
fn languages_are_negotiated_by_one_rule_html_lang_then_the_visitor_then_the_default() {
    let available = ["fr", "en", "de", "pt-BR"];
    assert_eq!(negotiate(&available, &["de-CH", "fr"], "en"), "de");
    assert_eq!(negotiate(&available, &["pt"], "en"), "pt-BR", "same primary language");
    assert_eq!(negotiate(&available, &["PT-br"], "en"), "pt-BR", "case-insensitive");
    assert_eq!(negotiate(&available, &["ja", "ko"], "fr"), "fr");
    assert_eq!(negotiate(&available, &["", " "], "en"), "en");
    assert_eq!(accept_language("de-CH,de;q=0.9,en;q=0.8,*;q=0.1"), ["de-CH", "de", "en"]);
    assert_eq!(accept_language("en;q=0, fr;q=0.5, nl"), ["nl", "fr"], "q=0 means not acceptable");
    assert_eq!(accept_language("fr;q=2, x y, it"), ["it"], "unreadable ranges are skipped");
    let p = preset("redis");
    assert_eq!(p.texts_for(&["es-MX"]).lang(), "es", "a built-in pack beyond the policy's own languages");
    assert_eq!(p.texts_for(&[]).lang(), "fr", "the policy's default language");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn reading_arbitrary_rules_never_panics(s in "(?s).{0,400}") {
        let _ = read_rules(&s);
    }

    #[test]
    fn rules_with_arbitrary_records_never_panic_and_never_exceed_64_categories(
        lines in prop::collection::vec("(revision|language|cookie|signals|endpoint|category|service)(\t[a-z0-9_~*./-]{0,12}){0,6}", 0..80)
    ) {
        if let Ok(p) = read_rules(&lines.join("\n")) {
            prop_assert!(!p.categories().is_empty() && p.categories().len() <= 64);
            for s in p.services() {
                prop_assert!(p.category(&s.category).is_some());
            }
        }
    }

    #[test]
    fn accept_language_never_panics(s in ".{0,300}") {
        let _ = accept_language(&s);
    }
}

#[test]
fn first_visit_says_what_decide_says_for_a_visitor_without_cookie_or_signal() {
    for slug in SLUGS {
        let p = preset(slug);
        let json: serde_json::Value = serde_json::from_str(&p.to_ready_json(&["en"])).unwrap();
        let expected = decide(&p, None, Signals::NONE, 2_000).needs_banner();
        assert_eq!(json["first_visit"]["asked"], serde_json::Value::Bool(expected), "{slug}");
        assert_eq!(json["first_visit"]["cookie"].as_str(), Some(p.cookie().name.as_str()), "{slug}");
    }
    // Nothing optional: nobody is asked, so the page shows nothing early.
    let only_required = Policy::from_json(
        r#"{"revision": 1, "cookie": {"name": "site_consent"}, "categories": [{"id": "essential", "required": true}]}"#,
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&only_required.to_ready_json(&[])).unwrap();
    assert_eq!(json["first_visit"], serde_json::json!({"cookie": "site_consent", "asked": false}));
}

#[test]
fn every_root_rendered_in_a_right_to_left_language_says_so_and_no_other_does() {
    let p = preset("redis").with_consent_endpoint("/consentry/consent");
    for (lang, rtl) in [("ar", true), ("he", true), ("en", false), ("fr", false), ("tr", false)] {
        let t = p.texts_for(&[lang]);
        assert_eq!(t.lang(), lang);
        let roots = [
            render::banner(&p, &t, "#", None, RenderedBy::Server),
            render::dialog(&p, &t),
            render::settings_button(&t),
            render::placeholder(&t),
            render::opt_out_link(&t, "/c", None),
            render::status(&t, consentry_core::texts::Key::optout_done),
        ];
        for markup in roots {
            let open = &markup[..markup.find('>').unwrap_or(markup.len())];
            assert!(open.contains(&format!(" lang=\"{lang}\"")), "{open}");
            assert_eq!(open.contains(" dir=\"rtl\""), rtl, "{lang}: {open}");
        }
        let banner = render::banner(&p, &t, "#", None, RenderedBy::Client);
        assert_eq!(
            banner.contains("\u{60c} "),
            lang == "ar",
            "{lang}: lists joined with the Arabic comma in Arabic only"
        );
        // The ready policy the browser inserts carries the same markup.
        let ready = ready_of(&p, &[lang]);
        let texts = ready.texts_for(&[lang]).expect("the language asked");
        assert_eq!(texts.banner.contains(" dir=\"rtl\""), rtl, "{lang}: the ready banner");
        assert_eq!(texts.dialog.contains(" dir=\"rtl\""), rtl, "{lang}: the ready dialog");
    }
}

#[test]
fn a_first_layer_with_no_third_party_names_none() {
    let p = |json: &str| Policy::from_json(json).unwrap_or_else(|e| panic!("{e}"));
    let own_only =
        p(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}]}"#);
    let with_party = p(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    );
    for lang in ["en", "fr", "de", "ar", "ja"] {
        let pack = |key: consentry_core::texts::Key| own_only.texts_for(&[lang]).get(key).to_owned();
        let own = render::banner(&own_only, &own_only.texts_for(&[lang]), "#", None, RenderedBy::Client);
        assert!(
            own.contains(&render::escape_html(&pack(consentry_core::texts::Key::description_own))),
            "{lang}"
        );
        assert!(!own.contains("third-parties"), "{lang}: no empty list");
        let listed =
            render::banner(&with_party, &with_party.texts_for(&[lang]), "#", None, RenderedBy::Client);
        assert!(
            listed.contains(&render::escape_html(&pack(consentry_core::texts::Key::description))),
            "{lang}"
        );
        assert!(listed.contains("data-consentry-list=\"third-parties\""), "{lang}");
    }
    // A site that wrote its own first-layer text keeps it.
    let worded =
        p(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "texts": {"en": {"description": "Our own words."}}}"#);
    let b = render::banner(&worded, &worded.texts_for(&["en"]), "#", None, RenderedBy::Client);
    assert!(b.contains("Our own words."), "{b}");
}
