//! The schedule store's contract for repeating messages: occurrence k is due at
//! first + k × every, a commit schedules k + 1 from the first (never from "now"), occurrences
//! missed while no scheduler ran are skipped and counted rather than replayed, the last one
//! before the expiry makes the message published, and a repeating message stays cancellable
//! while an occurrence is in flight.

use herald_backend::store::schedule::Fire;
use herald_core::status::{MessageStatus, StatusRecord};
use std::time::Duration;

use crate::on_both_backends;
use crate::schedule::{assert_empty, claim_of, commit, fire, record, status, LONG};
use crate::support::{envelope_of, eventually, ms, wall_ms, Settings, Stores, Times, APP, CHANNEL};

const MINUTE_MS: i64 = 60_000;

on_both_backends!(Settings::default() =>
    committing_a_repeating_occurrence_schedules_the_next_from_the_first,
    committing_the_same_occurrence_again_changes_nothing,
    occurrences_missed_while_no_scheduler_ran_are_skipped_not_replayed,
    a_repeat_with_an_expiry_ends_after_its_last_occurrence_as_published,
    a_repeating_message_cancelled_while_in_flight_gets_no_next_occurrence,
);

on_both_backends!(Settings { status_ttl: ms(300), ..Settings::default() } =>
    a_commit_keeps_the_record_until_the_next_occurrence_and_a_status_ttl_after_it,
);

async fn committing_a_repeating_occurrence_schedules_the_next_from_the_first(stores: &Stores) {
    let first = wall_ms() - MINUTE_MS / 2;
    let (member, due) = stores
        .schedule_message(Times::every(first, 60, 0), LONG)
        .await;
    assert_eq!(due, Some(first));
    assert_eq!(
        claim_of(stores, &member).await.members,
        std::slice::from_ref(&member)
    );
    assert_eq!(
        fire(stores, &member).await,
        Fire::Now {
            occurrence: 0,
            envelope: envelope_of(&member),
            due_ms: first,
            skipped: 0,
            repeating: true,
        }
    );
    assert_eq!(
        commit(stores, &member, 0, true).await,
        Some(first + MINUTE_MS)
    );
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 0)
    );
    let after = claim_of(stores, &member).await;
    assert_eq!(after.members, []);
    assert_eq!(after.next_due_ms, Some(first + MINUTE_MS));
    assert_eq!((after.pending, after.in_flight), (1, 0));
    assert_eq!(fire(stores, &member).await, Fire::NotDue(first + MINUTE_MS));
    if let Some(redis) = stores.redis() {
        // The record lives until the next occurrence and a status TTL after it.
        let pttl = redis.pttl(&redis.keys.status(APP, member.id)).await;
        let until_next = first + MINUTE_MS - wall_ms();
        let lasts = until_next + stores.settings.status_ttl.as_millis() as i64;
        assert!(
            pttl > lasts - 5_000 && pttl <= lasts + 1_000,
            "PTTL {pttl}, want {lasts}"
        );
    }
}

async fn a_commit_keeps_the_record_until_the_next_occurrence_and_a_status_ttl_after_it(
    stores: &Stores,
) {
    // Created to live a minute (LONG); the next occurrence is due in about 1.5 s.
    let first = wall_ms() - 500;
    let (member, _) = stores
        .schedule_message(Times::every(first, 2, 0), LONG)
        .await;
    claim_of(stores, &member).await;
    assert!(matches!(
        fire(stores, &member).await,
        Fire::Now { occurrence: 0, .. }
    ));
    assert_eq!(commit(stores, &member, 0, true).await, Some(first + 2_000));
    let lasts = first + 2_000 + 300 - wall_ms();
    if let Some(redis) = stores.redis() {
        let pttl = redis.pttl(&redis.keys.status(APP, member.id)).await;
        assert!(
            pttl > 0 && pttl <= lasts + 50,
            "PTTL {pttl}, want about {lasts}"
        );
    }
    eventually(
        Duration::from_secs(10),
        "the record outlived its next occurrence",
        || async { status(stores, &member).await.is_none() },
    )
    .await;
}

async fn committing_the_same_occurrence_again_changes_nothing(stores: &Stores) {
    let first = wall_ms() - MINUTE_MS / 2;
    let (member, _) = stores
        .schedule_message(Times::every(first, 60, 0), LONG)
        .await;
    claim_of(stores, &member).await;
    fire(stores, &member).await;
    assert_eq!(
        commit(stores, &member, 0, true).await,
        Some(first + MINUTE_MS)
    );
    assert_eq!(
        commit(stores, &member, 0, true).await,
        Some(first + MINUTE_MS)
    );
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 0)
    );
    let after = claim_of(stores, &member).await;
    assert_eq!(after.next_due_ms, Some(first + MINUTE_MS));
    assert_eq!((after.pending, after.in_flight), (1, 0));
}

async fn occurrences_missed_while_no_scheduler_ran_are_skipped_not_replayed(stores: &Stores) {
    // Ten and a half intervals ago: occurrences 0 to 10 are due, 10 is the latest.
    let first = wall_ms() - 10 * MINUTE_MS - MINUTE_MS / 2;
    let (member, due) = stores
        .schedule_message(Times::every(first, 60, 0), LONG)
        .await;
    assert_eq!(due, Some(first));
    assert_eq!(
        claim_of(stores, &member).await.members,
        std::slice::from_ref(&member)
    );
    assert_eq!(
        fire(stores, &member).await,
        Fire::Now {
            occurrence: 10,
            envelope: envelope_of(&member),
            due_ms: first + 10 * MINUTE_MS,
            skipped: 10,
            repeating: true,
        }
    );
    assert_eq!(
        commit(stores, &member, 10, true).await,
        Some(first + 11 * MINUTE_MS)
    );
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 10)
    );
    let after = claim_of(stores, &member).await;
    assert_eq!(after.members, []);
    assert_eq!(after.next_due_ms, Some(first + 11 * MINUTE_MS));
}

async fn a_repeat_with_an_expiry_ends_after_its_last_occurrence_as_published(stores: &Stores) {
    // Every second, expiring exactly at occurrence 5, all of it in the past: 5 is the last.
    let first = wall_ms() - 5_500;
    let (member, _) = stores
        .schedule_message(Times::every(first, 1, first + 5_000), LONG)
        .await;
    claim_of(stores, &member).await;
    assert_eq!(
        fire(stores, &member).await,
        Fire::Now {
            occurrence: 5,
            envelope: envelope_of(&member),
            due_ms: first + 5_000,
            skipped: 5,
            repeating: true,
        }
    );
    assert_eq!(commit(stores, &member, 5, true).await, None);
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Published, 1, 5)
    );
    assert_empty(stores, &member).await;
    assert!(!stores.statuses.cancel(APP, member.id).await.unwrap());
    if let Some(redis) = stores.redis() {
        let pttl = redis.pttl(&redis.keys.status(APP, member.id)).await;
        let ttl = stores.settings.status_ttl.as_millis() as i64;
        assert!(pttl > ttl - 5_000 && pttl <= ttl, "PTTL {pttl}");
        let entry = redis.keys.schedule_entry(APP, member.id);
        assert_eq!(redis.pttl(&entry).await, -2);
    }
}

async fn a_repeating_message_cancelled_while_in_flight_gets_no_next_occurrence(stores: &Stores) {
    let first = wall_ms() - 1_000;
    let (member, _) = stores
        .schedule_message(Times::every(first, 60, 0), LONG)
        .await;
    claim_of(stores, &member).await;
    assert!(matches!(
        fire(stores, &member).await,
        Fire::Now {
            occurrence: 0,
            repeating: true,
            ..
        }
    ));
    // A repeating message stays cancellable while an occurrence is on its way.
    assert!(stores.statuses.cancel(APP, member.id).await.unwrap());
    assert_eq!(commit(stores, &member, 0, true).await, None);
    assert_empty(stores, &member).await;
    // The cancelled occurrence is not counted as fired: its commit found no entry.
    assert_eq!(
        status(stores, &member).await,
        Some(StatusRecord {
            status: MessageStatus::Cancelled,
            error_message: None,
            occurrences: None,
            channel: Some(CHANNEL.into()),
        })
    );
    assert_eq!(fire(stores, &member).await, Fire::Gone);
}
