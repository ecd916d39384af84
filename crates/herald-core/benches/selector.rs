//! How long a selector takes to compile (once per subscription) and to evaluate (once per message
//! per subscriber, the figure that bounds fan-out). The goal for the three-clause selector below
//! against a five-header message is under 100 ns per evaluation.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use herald_core::headers::Headers;
use herald_core::Selector;
use serde_json::json;

const SELECTOR: &str = "importance = 'high' AND customerId > 100 AND region IN ('eu', 'us')";

fn message(customer_id: i64, region: &str) -> Headers {
    Headers::parse(&json!({
        "importance": "high",
        "customerId": customer_id,
        "region": region,
        "city": "Tokyo",
        "ios-alert": "on",
    }))
    .expect("bench headers are valid")
}

fn selector(c: &mut Criterion) {
    c.bench_function("selector/parse", |b| {
        b.iter(|| Selector::parse(black_box(SELECTOR)))
    });

    let selector = Selector::parse(SELECTOR).expect("bench selector is valid");
    // Every clause true: the whole condition is evaluated.
    let matching = message(55561, "us");
    assert!(selector.matches(&matching));
    c.bench_function("selector/match/typed_headers", |b| {
        b.iter(|| black_box(&selector).matches(black_box(&matching)))
    });

    // The second clause fails, so the AND stops early.
    let failing = message(5, "us");
    assert!(!selector.matches(&failing));
    c.bench_function("selector/miss/typed_headers", |b| {
        b.iter(|| black_box(&selector).matches(black_box(&failing)))
    });

    // The wire form: `customerId` is a string, parsed as a number on every evaluation.
    let wire: BTreeMap<String, String> = matching
        .to_wire()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    assert!(selector.matches_with(&wire));
    c.bench_function("selector/match/wire_headers", |b| {
        b.iter(|| black_box(&selector).matches_with(black_box(&wire)))
    });
}

criterion_group!(benches, selector);
criterion_main!(benches);
