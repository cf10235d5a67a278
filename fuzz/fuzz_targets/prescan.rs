//! The rewriter's fast path (a pre-scan that copies bytes no handler can
//! change around lol_html) against lol_html alone: any page, cut into any
//! chunks, with and without consent, comes out byte for byte the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&head, html)) = input.split_first() else { return };
    // The first byte picks the cuts: every `head`-th byte, and consent.
    let step = usize::from(head >> 1).max(1);
    let cuts: Vec<usize> = (step..html.len()).step_by(step).collect();
    if let Err(e) = consentry_tower::fuzzing::prescan_differential(html, &cuts, head & 1 == 1) {
        panic!("{e}");
    }
});
