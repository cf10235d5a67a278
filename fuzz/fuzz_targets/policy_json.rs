//! `Policy::from_json` on arbitrary text: an error or a policy, never a panic;
//! a policy that loads serialises to JSON that loads to the same policy.
#![no_main]

use consentry_core::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(policy) = Policy::from_json(text) {
        let again = Policy::from_json(&policy.to_json());
        assert_eq!(again.as_ref().ok(), Some(&policy));
        let _ = policy.texts_for(&["fr", "en"]);
    }
});
