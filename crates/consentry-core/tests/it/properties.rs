//! Property tests for the codecs: round trip, never panic, never widen a grant.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{
    Consent, ConsentId, Model, Policy, Signals, consent_from_cookie_string, consent_from_headers, decide,
};
use proptest::prelude::*;

fn policy() -> Policy {
    Policy::from_json(
        r#"{"revision": 7, "categories": [{"id": "essential", "required": true}, {"id": "analytics"},
            {"id": "advertising"}, {"id": "third-party", "required": false}],
            "texts": {"en": {"categories": {"third-party": {"title": "Third party"}}}}}"#,
    )
    .unwrap()
}

fn id_strategy() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,31}"
}

fn consent_strategy() -> impl Strategy<Value = Consent> {
    (1u32.., 0u64..1_000_000_000_000, prop::collection::vec(id_strategy(), 0..8), any::<[u8; 16]>())
        .prop_map(|(rev, at, granted, id)| Consent::new(rev, at, granted, ConsentId::from_random(id)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_returns_the_same_consent(c in consent_strategy()) {
        let encoded = c.encode();
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b)));
        prop_assert_eq!(Consent::decode(&encoded), Ok(c));
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(s in ".{0,600}") {
        let _ = Consent::decode(&s);
    }

    #[test]
    fn arbitrary_cookie_headers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = consent_from_headers([bytes.as_slice()], "consentry");
    }

    /// The banner reads `document.cookie` with `consent_from_cookie_string`,
    /// the server reads `Cookie` headers with `consent_from_headers`: for any
    /// text, with copies of real consent cookies mixed in, they find the same.
    #[test]
    fn the_cookie_string_reader_agrees_with_the_header_reader(
        pieces in prop::collection::vec(
            prop_oneof![
                consent_strategy().prop_map(|c| format!("consentry={}", c.encode())),
                consent_strategy().prop_map(|c| format!(" consentry = {} ", c.encode())),
                "[ -~]{0,30}",
                ".{0,12}",
            ],
            0..8,
        ),
        sep in prop_oneof![Just(";"), Just("; "), Just(" ;\t")],
    ) {
        let cookies = pieces.join(sep);
        prop_assert_eq!(
            consent_from_cookie_string(&cookies, "consentry"),
            consent_from_headers([cookies.as_bytes()], "consentry")
        );
    }

    #[test]
    fn a_damaged_cookie_never_grants_more_than_the_original(
        granted in prop::sample::subsequence(vec!["analytics", "advertising", "third-party"], 0..=3),
        cut in 0usize..80,
        insert in prop::option::of((0usize..80, any::<char>())),
    ) {
        let p = policy();
        let original = Consent::new(7, 1_000, granted.clone(), ConsentId::from_random([1; 16]));
        let mut damaged = original.encode();
        if let Some((at, ch)) = insert {
            let at = at.min(damaged.len());
            if damaged.is_char_boundary(at) { damaged.insert(at, ch); }
        }
        let new_len = damaged.len().saturating_sub(cut);
        if damaged.is_char_boundary(new_len) { damaged.truncate(new_len); }
        let decoded = Consent::decode(&damaged).ok();
        let d = decide(&p, decoded.as_ref(), Signals::NONE, 2_000);
        for (id, g) in d.categories() {
            let was_granted = id == "essential" || granted.contains(&id);
            prop_assert!(!g.granted || was_granted, "{} granted by {:?}", id, damaged);
        }
    }

    #[test]
    fn a_signal_always_denies_every_optional_category(c in consent_strategy(), dnt: bool, gpc: bool) {
        prop_assume!(dnt || gpc);
        let d = decide(&policy(), Some(&c), Signals { dnt, gpc }, 1_000);
        prop_assert_eq!(d.granted().collect::<Vec<_>>(), vec!["essential"]);
    }

    #[test]
    fn arbitrary_policy_text_never_panics(s in ".{0,400}") {
        let _ = Policy::from_json(&s);
    }

    /// The byte splitter the browser banner's readers use is `str::split`
    /// with a char, for every text and every ASCII separator.
    #[test]
    fn the_byte_splitter_splits_as_str_split_does(s in "[a-c;=~\t\n. é€]{0,40}", sep in prop::sample::select(b";=~\t\n.a".to_vec())) {
        let ours: Vec<&str> = consentry_core::split::split(&s, sep).collect();
        prop_assert_eq!(ours, s.split(char::from(sep)).collect::<Vec<_>>());
        prop_assert_eq!(consentry_core::split::split_once(&s, sep), s.split_once(char::from(sep)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// A browser fetches the same file whatever the case of the scheme and
    /// host, with `http:`, `https:` or no scheme, and with doubled slashes:
    /// a service that claims one spelling claims them all.
    #[test]
    fn matching_ignores_scheme_case_and_doubled_slashes(
        before in "[a-z.]{0,12}", after in "[a-z0-9/?=&.]{0,20}", glob_fill in "[a-z]{0,5}",
        scheme in prop::sample::select(vec!["https://", "http://", "//", "HTTPS://"]),
        upper: bool, doubled: bool,
    ) {
        let p = Policy::from_json(
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [
                {"id": "m", "kind": "matomo", "category": "a", "config": {"url": "https://stats.example.org/", "site_id": "1"}},
                {"id": "g", "kind": "ga4", "category": "a", "config": {"measurement_id": "G-AB12CD34", "script_url": "/t/gtag/js"}},
                {"id": "t", "kind": "gtm", "category": "a", "config": {"container_id": "GTM-AB12CD"}},
                {"id": "c", "kind": "custom", "category": "a", "patterns": ["cdn.x.com/a*b.js", "/plain/"]}]}"#,
        ).unwrap();
        let cases = [
            ("m", format!("{before}x.org/matomo.js{after}")),
            ("m", format!("stats.example.org/{after}")),
            ("g", format!("{before}www.googletagmanager.com/gtag/js{after}")),
            ("g", format!("region1.google-analytics.com/g/collect{after}")),
            ("t", format!("www.googletagmanager.com/ns.html?id=GTM-AB12CD{after}")),
            ("c", format!("cdn.x.com/a{glob_fill}b.js")),
            ("c", format!("{before}.org/plain/{after}")),
        ];
        for (id, bare) in &cases {
            let mut url = format!("{scheme}{bare}");
            if upper {
                url = url.to_ascii_uppercase();
            }
            if doubled {
                url = url.replacen(".com/", ".com//", 1).replacen(".org/", ".org//", 1);
            }
            let found = p.services().iter().find(|s| s.matches_url(&url)).map(|s| s.id.as_str());
            prop_assert!(found.is_some(), "{url} should belong to {id}");
            let service = p.services().iter().find(|s| s.id == *id);
            prop_assert!(service.is_some_and(|s| s.matches_url(&url)), "{url} should belong to {id}");
        }
        let plain = format!("{scheme}example.net/{after}");
        prop_assert!(p.services().iter().all(|s| !s.matches_url(&plain)), "{plain} belongs to nobody");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// The middleware skips URL resolution when none of a service's tokens
    /// occurs: a URL a service matches must always contain one of them.
    #[test]
    fn every_url_a_service_matches_contains_one_of_its_tokens(
        before in "[a-zA-Z:/.]{0,20}", after in "[a-z0-9/?=&.:]{0,20}", glob_fill in "[a-z]{0,5}",
    ) {
        let p = Policy::from_json(
            r#"{"revision": 1, "categories": [{"id": "a"}], "services": [
                {"id": "m", "kind": "matomo", "category": "a", "config": {"url": "https://stats.example.org/", "site_id": "1"}},
                {"id": "g", "kind": "ga4", "category": "a", "config": {"measurement_id": "G-AB12CD34", "script_url": "/t/gtag/js"}},
                {"id": "t", "kind": "gtm", "category": "a", "config": {"container_id": "GTM-AB12CD"}},
                {"id": "c", "kind": "custom", "category": "a", "patterns": ["cdn.x.com/a*b.js", "/plain/", "HTTPS://Y.ORG/p"]}]}"#,
        ).unwrap();
        let candidates = [
            format!("{before}matomo.js{after}"),
            format!("https://stats.example.org/{after}"),
            format!("//STATS.example.org.:8080/{after}"),
            format!("/t/gtag/js{after}"),
            format!("{before}googletagmanager.com//gtag/js{after}"),
            format!("{before}region1.google-analytics.com:443/g/collect{after}"),
            format!("cdn.x.com/a{glob_fill}b.js"),
            format!("{before}/plain/{after}"),
            format!("http://y.org/p{after}"),
            format!("{before}{after}"),
        ];
        for s in p.services() {
            let tokens = s.url_tokens().unwrap_or_else(|| panic!("{} has tokens", s.id));
            for url in &candidates {
                if s.matches_url(url) {
                    let lower = url.to_ascii_lowercase();
                    prop_assert!(tokens.iter().any(|t| lower.contains(t.as_str())), "{} matches {url}, tokens {tokens:?}", s.id);
                }
            }
        }
    }
}

/// The cookie finder as it was first written: cut the header into pairs,
/// trim, compare each key. `cookie_values` searches for the name instead;
/// it must find exactly what this finds.
fn cookie_values_by_pairs<'h>(header: &'h [u8], name: &str) -> Vec<&'h str> {
    let trim = |mut s: &'h [u8]| {
        while let [b' ' | b'\t', rest @ ..] = s {
            s = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = s {
            s = rest;
        }
        s
    };
    header
        .split(|&b| b == b';')
        .filter_map(|pair| {
            let pair = trim(pair);
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (k, v) = (trim(&pair[..eq]), trim(&pair[eq + 1..]));
            if k == name.as_bytes() { std::str::from_utf8(v).ok() } else { None }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_cookie_finder_finds_what_cutting_into_pairs_finds(
        // Headers made of the bytes that matter (separators, spaces, the
        // name's letters, a non-UTF-8 byte) so the name turns up in keys,
        // values and across pairs.
        header in proptest::collection::vec(
            prop_oneof![Just(b';'), Just(b'='), Just(b' '), Just(b'\t'), Just(b'c'), Just(b'o'), Just(b'n'),
                        Just(b'x'), Just(0xff_u8), any::<u8>()],
            0..80,
        ),
        // Names as policies write them, and names no key can be (blanks at
        // an end, `=`, `;`), or only with a blank inside, or empty.
        name in prop_oneof![Just("con".to_owned()), Just("c".to_owned()), Just("consentry".to_owned()), "[a-z_]{1,6}",
                            Just(String::new()), Just(" con".to_owned()), Just("con\t".to_owned()),
                            Just("c n".to_owned()), Just("c=n".to_owned()), Just("c;n".to_owned())],
        // The name spliced in where a key, a value or a bare word would be.
        splice in proptest::collection::vec((0usize..80, 0usize..5), 0..4),
    ) {
        let mut header = header;
        for (at, kind) in splice {
            let piece = match kind {
                0 => format!("{name}="),
                1 => format!("; {name} = v"),
                2 => name.clone(),
                3 => format!("={name};"),
                _ => format!(";{name}\t=x ;"),
            };
            let at = at.min(header.len());
            header.splice(at..at, piece.bytes());
        }
        let found: Vec<&str> = consentry_core::cookie_values(&header, &name).collect();
        prop_assert_eq!(found, cookie_values_by_pairs(&header, &name));
    }
}

/// The rule for a consent cookie sent more than once, as first written
/// (fewest grants, then the oldest; disagreeing copies keep what both
/// grant; consent only if every copy is): the reference the leaner
/// `most_restrictive` is checked against.
fn most_restrictive_reference(copies: &[Consent]) -> Option<(Vec<String>, u64, u32, String, Model)> {
    type Merged = (Vec<String>, u64, u32, String, Model);
    let grants = |set: &[String], g: &String| set.contains(g);
    let mut best: Option<Merged> = None;
    for c in copies {
        let cg = c.granted().to_vec();
        let this: Merged = (cg.clone(), c.given_at(), c.revision(), c.id().as_str().to_owned(), c.model());
        best = Some(match best {
            None => this,
            Some(b) => {
                let keep_b =
                    (b.0.len(), b.1) <= (cg.len(), c.given_at()) && b.0.iter().all(|g| grants(&cg, g));
                let mut m = if keep_b {
                    b
                } else if cg.iter().all(|g| grants(&b.0, g)) {
                    this
                } else {
                    let common = b.0.iter().filter(|g| grants(&cg, g)).cloned().collect();
                    (common, b.1, b.2, b.3, b.4)
                };
                if m.4 == Model::OptIn {
                    m.4 = c.model();
                }
                m
            }
        });
    }
    best
}

fn copies_strategy() -> impl Strategy<Value = Vec<Consent>> {
    // Few ids and few times, so that copies often grant the same, nest or
    // disagree, and tie on time.
    let one = (
        prop::collection::vec(prop::sample::select(vec!["analytics", "ads", "video", "ga4"]), 0..4),
        0u64..3,
        any::<[u8; 16]>(),
        prop::sample::select(vec![Model::OptIn, Model::OptOut, Model::Notice]),
    )
        .prop_map(|(granted, at, id, model)| {
            Consent::new(3, 1_000 + at, granted, ConsentId::from_random(id)).under(model)
        });
    prop::collection::vec(one, 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Copies of the consent cookie merge as the rule says, copy by copy.
    #[test]
    fn duplicate_cookies_merge_as_the_reference_rule_says(copies in copies_strategy()) {
        let header: Vec<String> = copies.iter().map(|c| format!("consentry={}", c.encode())).collect();
        let merged = consent_from_cookie_string(&header.join("; "), "consentry").map(|c| {
            (c.granted().to_vec(), c.given_at(), c.revision(), c.id().as_str().to_owned(), c.model())
        });
        prop_assert_eq!(merged, most_restrictive_reference(&copies));
    }
}
