//! The two formats other people depend on keep the promises CHANGELOG.md
//! ("Versioning") makes: what an earlier release wrote is still read, the
//! same way, and what a later one writes is refused whole, never half-read.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{Consent, DecodeError, Policy, Reason, Signals, decide};

const NOW: u64 = 1_763_950_000;

/// The five site policies exactly as the first release (0.1.0, commit
/// 834134e) shipped them.
fn first_release(slug: &str) -> Policy {
    let path = format!("{}/tests/fixtures/policies-0.1.0/{slug}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Policy::from_json(&json).unwrap_or_else(|e| panic!("{slug}: a first-release policy is refused: {e}"))
}

#[test]
fn every_policy_of_the_first_release_still_reads() {
    for slug in ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"] {
        let p = first_release(slug);
        // Read as written: nothing the newer fields add changes an old policy.
        assert!(p.regions().is_opt_in_everywhere(), "{slug}: no regions, opt-in everywhere as before");
        let first_visit = decide(&p, None, Signals::NONE, NOW);
        assert_eq!(first_visit.needs_banner(), p.has_optional_categories(), "{slug}");
        for c in p.categories() {
            assert_eq!(first_visit.allows(&c.id), c.required, "{slug}: {} before any choice", c.id);
        }
    }
}

#[test]
fn a_cookie_the_first_release_wrote_grants_what_it_granted() {
    // The example in the first release's format documentation, for the redis policy.
    let cookie = "v1.3.1763900000.analytics~advertising.q3Jf0aZxT2y9LmN8pR4tVw";
    let consent = Consent::decode(cookie).unwrap();
    assert_eq!((consent.revision(), consent.given_at()), (3, 1_763_900_000));
    assert_eq!(consent.granted(), ["advertising", "analytics"]);
    let redis = first_release("redis");
    let d = decide(&redis, Some(&consent), Signals::NONE, NOW);
    assert!(!d.needs_banner());
    assert!(d.allows("analytics") && d.allows("advertising") && d.allows_service("ga4"));
    assert!(!d.allows("third-party") && !d.allows_service("video"));
    // The same cookie read today re-encodes to the same bytes.
    assert_eq!(consent.encode(), "v1.3.1763900000.advertising~analytics.q3Jf0aZxT2y9LmN8pR4tVw");
}

#[test]
fn a_cookie_of_an_unknown_version_is_no_consent_and_the_banner_asks_again() {
    let policy = first_release("redis");
    for cookie in [
        "v3.3.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw",
        "v0.3.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw",
        "V1.3.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw",
        "3.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw",
    ] {
        assert_eq!(Consent::decode(cookie).err(), Some(DecodeError::UnknownVersion), "{cookie}");
        let header = format!("consentry={cookie}");
        let found = consentry_core::consent_from_headers([header.as_bytes()], "consentry");
        assert!(found.is_none(), "{cookie}: no consent");
        let d = decide(&policy, found.as_ref(), Signals::NONE, NOW);
        assert!(d.needs_banner() && !d.allows("analytics"), "{cookie}");
        assert_eq!(d.basis(), Reason::NoConsent, "{cookie}");
    }
}

#[test]
fn a_policy_using_a_field_of_a_later_version_is_refused_with_its_path() {
    // A later release may add fields; this one must not run such a policy
    // without the rule the field adds, so it refuses it, naming the field.
    let newer = r#"{"revision": 1, "categories": [{"id": "essential", "required": true},
        {"id": "analytics", "legal_basis": "legitimate-interest"}]}"#;
    let e = Policy::from_json(newer).unwrap_err();
    assert_eq!(e.path(), "categories[1].legal_basis");
    assert!(e.to_string().contains("unknown field `legal_basis`"), "{e}");
}
