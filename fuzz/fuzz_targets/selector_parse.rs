//! Any text either fails to parse with an error or compiles to a selector whose canonical print
//! parses back to the same tree; evaluating it never panics.

#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use herald_core::headers::Headers;
use herald_core::selector::{SelectorError, MAX_LEN};
use herald_core::Selector;
use libfuzzer_sys::fuzz_target;

static TYPED: LazyLock<Headers> = LazyLock::new(|| {
    Headers::parse(&serde_json::json!({
        "a": 10, "b": "20", "foo": 1.5, "flag": true, "name": "Jacket", "ios-alert": "on",
        "x": "it's", "empty": "",
    }))
    .expect("fixed headers are valid")
});

static WIRE: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
    TYPED
        .to_wire()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(selector) = Selector::parse(text) else {
        return;
    };
    let printed = selector.to_string();
    match Selector::parse(&printed) {
        Ok(reparsed) => {
            assert_eq!(reparsed, selector, "{text:?} printed as {printed:?}");
            assert_eq!(
                reparsed.to_string(),
                printed,
                "the canonical print is stable"
            );
            assert_eq!(reparsed.matches(&TYPED), selector.matches(&TYPED));
        }
        // Canonical spacing can push a selector near the limit past it; nothing else may fail.
        Err(SelectorError::TooLong { .. }) => assert!(printed.len() > MAX_LEN),
        Err(err) => panic!("{text:?} printed as {printed:?} does not parse: {err}"),
    }
    let _ = selector.matches_with(&*WIRE);
});
