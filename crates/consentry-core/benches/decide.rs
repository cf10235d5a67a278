//! Parse the `Cookie` header of a realistic request (10 cookies) and decide.
//! Run with `cargo xtask bench` (or `cargo bench -p consentry-core`).

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use consentry_core::{Consent, ConsentId, Policy, Signals, consent_from_headers, decide};
use criterion::{Criterion, criterion_group, criterion_main};

const POLICY: &str = include_str!("../../../www/policies/redis.json");

fn bench(c: &mut Criterion) {
    let Ok(policy) = Policy::from_json(POLICY) else {
        panic!("the redis preset must load");
    };
    let consent = Consent::new(
        policy.revision(),
        1_763_900_000,
        ["analytics", "account"],
        ConsentId::from_random([42; 16]),
    );
    let name = policy.cookie().name.clone();
    let header = format!(
        "_ga=GA1.1.1234567890.1763900000; _ga_AB12CD34=GS1.1.1763900000.1.0.1763900000.0.0.0; \
         session=8f2b1c9d0e7a6b5c4d3e2f1a0b9c8d7e; csrftoken=Zk9QmR2xT4vW6yA8cE0gI2kM4oQ6sU8w; \
         lang=fr; theme=dark; _gcl_au=1.1.987654321.1763900000; remember_me=7f3e9a1b2c4d6e8f; \
         {name}={}; last_seen=1763900000",
        consent.encode()
    );

    let mut group = c.benchmark_group("core");
    group.bench_function("parse_and_decide", |b| {
        b.iter(|| {
            let consent = consent_from_headers([black_box(header.as_bytes())], &name);
            let signals = Signals::from_header_values([black_box(b"0".as_slice())], []);
            let d = decide(&policy, consent.as_ref(), signals, black_box(1_763_900_100));
            black_box(d.allows("analytics"))
        })
    });
    // Baseline: what a server does anyway — find one cookie in the same header
    // with the widely used `cookie` crate, without decoding or deciding.
    group.bench_function("baseline_cookie_crate_find", |b| {
        b.iter(|| {
            let header = black_box(header.as_str());
            let found = cookie::Cookie::split_parse(header)
                .filter_map(Result::ok)
                .find(|c| c.name() == name)
                .map(|c| c.value().len());
            black_box(found)
        })
    });
    group.bench_function("decide_without_cookie", |b| {
        b.iter(|| black_box(decide(&policy, None, Signals::NONE, black_box(1_763_900_100)).needs_banner()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
