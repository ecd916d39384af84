//! Evaluating a selector runs once per message per subscriber, so it must not allocate. This
//! binary counts the allocations made on the test's own thread while selectors evaluate; it is a
//! binary of its own because the counting allocator replaces the global one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use herald_core::headers::Headers;
use herald_core::Selector;
use serde_json::json;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local `Cell`, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn evaluating_selectors_allocates_nothing() {
    let selectors: Vec<Selector> = [
        "importance = 'high' AND customerId > 100 AND region IN ('eu', 'us')",
        "customerId LIKE '5%1' OR ratio BETWEEN 1 AND 2",
        "NOT (flag = TRUE) OR customerId <> 'abc' OR missing IS NULL",
        "region NOT LIKE '%x_' AND ratio >= '1.5' AND customerId = ratio",
    ]
    .iter()
    .map(|text| Selector::parse(text).expect("valid selector"))
    .collect();
    let typed = Headers::parse(&json!({
        "importance": "high", "customerId": 55561, "region": "eu", "ratio": 1.5, "flag": true,
    }))
    .expect("valid headers");
    let wire: BTreeMap<String, String> = typed
        .to_wire()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();

    let count = allocations_during(|| {
        for selector in &selectors {
            std::hint::black_box(selector.matches(&typed));
            std::hint::black_box(selector.matches_with(&wire));
        }
    });
    assert_eq!(count, 0);
    // The counter itself works.
    assert_eq!(
        allocations_during(|| drop(std::hint::black_box(Box::new(1u64)))),
        1
    );
}
