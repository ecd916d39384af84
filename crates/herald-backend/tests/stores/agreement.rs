//! The schedule stores agree with herald-core's time rules (`herald_core::schedule::Schedule`):
//! for random schedules, one-shot or repeating, first due in the past or the future, with or
//! without an expiry, every due time the store reports is the core's `occurrence_at`, the
//! occurrence a fire hands out is the latest the core says is due, and the status counts every
//! occurrence due so far (fired or skipped). The Lua scripts and the memory store each mirror
//! the core, so this is where a drift between them shows.

use herald_backend::store::schedule::Fire;
use herald_core::schedule::Schedule;
use herald_core::status::MessageStatus;
use proptest::prelude::*;
use std::time::Duration;

use crate::schedule::{claim_of, commit, fire, record, status};
use crate::support::{wall_ms, Backend, Settings, Stores, Times};

/// A random schedule, relative to the time the case runs.
#[derive(Debug, Clone, Copy)]
struct Relative {
    /// First occurrence from now, ms: at least a second away, so "due" and "not due yet" do not
    /// depend on how fast the case runs.
    first_in_ms: i64,
    /// 0 for a one-shot message.
    every_seconds: u64,
    /// The expiry after the first occurrence, ms; `None` repeats until cancelled.
    expires_after_ms: Option<i64>,
}

fn relative() -> impl Strategy<Value = Relative> {
    let first = prop_oneof![-7_200_000i64..=-1_000, 1_000i64..=120_000];
    let every = prop_oneof![Just(0u64), 1u64..=120];
    let expiry = proptest::option::of(0i64..=3_600_000);
    (first, every, expiry).prop_map(|(first_in_ms, every_seconds, expires_after_ms)| Relative {
        first_in_ms,
        every_seconds,
        expires_after_ms,
    })
}

/// The core's schedule and the store's times for the same message.
fn both(relative: Relative, now: i64) -> (Schedule, Times) {
    let first = now + relative.first_in_ms;
    if relative.every_seconds == 0 {
        return (Schedule::Delayed { at_ms: first }, Times::once(first));
    }
    let expires = relative.expires_after_ms.map(|after| first + after);
    (
        Schedule::Repeating {
            first_at_ms: first,
            every_seconds: relative.every_seconds,
            expires_at_ms: expires,
        },
        Times::every(first, relative.every_seconds, expires.unwrap_or(0)),
    )
}

/// The latest occurrence the core says is due at `now`, if any.
fn latest_due(schedule: &Schedule, now: i64) -> Option<u64> {
    let mut latest = None;
    let mut k = 0;
    while let Some(at) = schedule.occurrence_at(k, now) {
        if at > now {
            break;
        }
        latest = Some(k);
        k += 1;
    }
    latest
}

async fn agrees(stores: &Stores, relative: Relative) -> Result<(), TestCaseError> {
    let (schedule, times) = both(relative, wall_ms());
    let first = schedule.occurrence_at(0, 0).expect("occurrence 0 exists");
    let (member, due) = stores
        .schedule_message(times, Duration::from_secs(3_600))
        .await;
    prop_assert_eq!(due, Some(first));

    let before = wall_ms();
    let claimed = claim_of(stores, &member).await;
    if first > before {
        prop_assert_eq!(claimed.members, vec![]);
        prop_assert_eq!(claimed.next_due_ms, Some(first));
        prop_assert_eq!(fire(stores, &member).await, Fire::NotDue(first));
        return Ok(());
    }
    prop_assert_eq!(claimed.members, vec![member.clone()]);

    let fired = fire(stores, &member).await;
    let after = wall_ms();
    let Fire::Now {
        occurrence,
        due_ms,
        skipped,
        repeating,
        ..
    } = fired
    else {
        return Err(TestCaseError::fail(format!("due, yet {fired:?}")));
    };
    // The store read its clock between `before` and `after`.
    let (lowest, highest) = (latest_due(&schedule, before), latest_due(&schedule, after));
    prop_assert!(
        lowest <= Some(occurrence) && Some(occurrence) <= highest,
        "fired occurrence {occurrence}, the core says {lowest:?} to {highest:?}"
    );
    prop_assert_eq!(Some(due_ms), schedule.occurrence_at(occurrence, 0));
    prop_assert_eq!(skipped, occurrence);
    prop_assert_eq!(repeating, relative.every_seconds > 0);

    let next = commit(stores, &member, occurrence, repeating).await;
    prop_assert_eq!(next, schedule.occurrence_at(occurrence + 1, 0));
    // A repeating message's last occurrence publishes it; a one-shot one waits for the
    // dispatcher. Every occurrence due so far is counted, once.
    let final_status = if repeating && next.is_none() {
        MessageStatus::Published
    } else {
        MessageStatus::Scheduled
    };
    prop_assert_eq!(
        status(stores, &member).await,
        record(final_status, 1, occurrence)
    );
    match next {
        Some(next) => {
            prop_assert!(next > before, "the next occurrence {next} is already due");
            prop_assert_eq!(claim_of(stores, &member).await.next_due_ms, Some(next));
            prop_assert_eq!(fire(stores, &member).await, Fire::NotDue(next));
        }
        None => prop_assert_eq!(fire(stores, &member).await, Fire::Gone),
    }
    Ok(())
}

/// Runs [`agrees`] for 32 random schedules, each on fresh stores of `backend`.
fn agreement_on(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    proptest!(ProptestConfig::with_cases(32), |(relative in relative())| {
        runtime.block_on(async {
            let stores = Stores::build(backend, Settings::default()).await;
            agrees(&stores, relative).await
        })?;
    });
}

mod the_schedule_agrees_with_the_core_time_rules {
    #[test]
    fn in_memory() {
        super::agreement_on(super::Backend::Memory);
    }

    #[test]
    fn on_redis() {
        super::agreement_on(super::Backend::Redis);
    }
}
