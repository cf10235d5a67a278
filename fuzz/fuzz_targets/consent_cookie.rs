//! The consent-cookie codec and the Cookie-header scan on arbitrary bytes:
//! never a panic, never a grant the value did not list, and whatever decodes
//! re-encodes to an equivalent consent; and the banner's reader of
//! `document.cookie` finds exactly what the server's header reader finds.
#![no_main]

use consentry_core::{Consent, Policy, Signals, consent_from_cookie_string, consent_from_headers, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let found = consent_from_headers([data], "consentry");
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(consent_from_cookie_string(text, "consentry"), found);
        if let Ok(c) = Consent::decode(text) {
            assert_eq!(Consent::decode(&c.encode()).as_ref(), Ok(&c));
            let Ok(policy) = Policy::from_json(
                r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}]}"#,
            ) else {
                return;
            };
            let d = decide(&policy, Some(&c), Signals::NONE, c.given_at());
            for (id, g) in d.categories() {
                assert!(!g.granted || id == "essential" || c.grants(id));
            }
        }
    }
    if let Some(c) = found {
        assert!(c.granted().len() <= 64);
    }
});
