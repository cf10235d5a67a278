//! The ready policy's rules (what the browser banner reads) on arbitrary
//! text: never a panic, and whatever reads has 1–64 categories and services
//! that name one of them, and decides without granting more than a consent lists.
#![no_main]

use consentry_core::ready::read_rules;
use consentry_core::{Consent, ConsentId, Signals, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(policy) = read_rules(text) else { return };
    assert!((1..=64).contains(&policy.categories().len()));
    for s in policy.services() {
        assert!(policy.category(&s.category).is_some());
    }
    let c = Consent::new(policy.revision(), 10, ["analytics"], ConsentId::from_random([0; 16]));
    let d = decide(&policy, Some(&c), Signals::NONE, 10);
    for (id, g) in d.categories() {
        let required = policy.category(id).is_some_and(|c| c.required);
        assert!(!g.granted || required || id == "analytics");
    }
});
