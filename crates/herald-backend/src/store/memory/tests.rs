//! The memory store's transitions on a manual clock.

use herald_core::schedule::Schedule;
use herald_core::status::DeliveryKind;
use herald_core::{MessageId, MessageStatus};
use herald_runtime::clock::ManualClock;
use std::time::Duration;

use super::MemoryStore;
use crate::store::schedule::{Fire, Member, NewEntry, Published, ScheduleStore};
use crate::store::status::StatusStore;

const NOW: i64 = 1_800_000_000_000;
const TTL: Duration = Duration::from_secs(10);
const LEASE: Duration = Duration::from_secs(1);

/// A store on a manual clock at [`NOW`], holding one scheduled message with `schedule`.
async fn store_with(schedule: Schedule) -> (MemoryStore, ManualClock, Member) {
    let clock = ManualClock::new(NOW);
    let store = MemoryStore::new(TTL, clock.clock());
    let member = Member {
        app: "app".into(),
        id: MessageId::new_random(),
    };
    let ttl = schedule.ttl(NOW, TTL);
    store
        .create(&member.app, member.id, "news", DeliveryKind::Deferred, ttl)
        .await
        .unwrap();
    let entry = NewEntry {
        member: &member,
        envelope: "{\"channel\":\"news\"}",
        schedule,
        ttl,
    };
    assert!(store.store(entry).await.unwrap().is_some());
    (store, clock, member)
}

async fn status(store: &MemoryStore, member: &Member) -> Option<MessageStatus> {
    let record = store.get(&member.app, member.id).await.unwrap();
    record.map(|r| r.status)
}

#[tokio::test]
async fn a_cancel_before_the_fire_wins_and_the_fire_finds_nothing() {
    let (store, _, member) = store_with(Schedule::Delayed { at_ms: NOW }).await;
    let claim = store.claim(0, 10, LEASE).await.unwrap();
    assert_eq!(claim.members, std::slice::from_ref(&member));
    assert!(store.cancel(&member.app, member.id).await.unwrap());
    assert_eq!(store.fire(0, &claim.members).await.unwrap(), [Fire::Gone]);
}

#[tokio::test]
async fn a_fire_before_the_cancel_wins_and_the_cancel_finds_nothing() {
    let (store, _, member) = store_with(Schedule::Delayed { at_ms: NOW }).await;
    let claim = store.claim(0, 10, LEASE).await.unwrap();
    let fired = store.fire(0, &claim.members).await.unwrap();
    assert!(matches!(fired[..], [Fire::Now { occurrence: 0, .. }]));
    assert!(!store.cancel(&member.app, member.id).await.unwrap());
}

#[tokio::test]
async fn nothing_is_claimed_before_its_time_on_the_clock() {
    let at_ms = NOW + 5_000;
    let (store, clock, member) = store_with(Schedule::Delayed { at_ms }).await;
    let early = store.claim(0, 10, LEASE).await.unwrap();
    assert!(early.members.is_empty());
    assert_eq!(early.next_due_ms, Some(at_ms));
    clock.advance(Duration::from_secs(5));
    assert_eq!(store.claim(0, 10, LEASE).await.unwrap().members, [member]);
}

#[tokio::test]
async fn a_lease_that_runs_out_on_the_clock_is_claimed_again() {
    let (store, clock, member) = store_with(Schedule::Delayed { at_ms: NOW }).await;
    assert_eq!(
        store.claim(0, 10, LEASE).await.unwrap().members,
        std::slice::from_ref(&member)
    );
    assert!(store.claim(0, 10, LEASE).await.unwrap().members.is_empty());
    clock.advance(LEASE);
    let again = store.claim(0, 10, LEASE).await.unwrap();
    assert_eq!((again.expired_leases, again.members), (1, vec![member]));
}

#[tokio::test]
async fn missed_occurrences_are_skipped_and_the_latest_fires() {
    let schedule = Schedule::Repeating {
        first_at_ms: NOW - 10_000,
        every_seconds: 3,
        expires_at_ms: None,
    };
    let (store, _, member) = store_with(schedule).await;
    let claim = store.claim(0, 10, LEASE).await.unwrap();
    let fired = store.fire(0, &claim.members).await.unwrap();
    let [Fire::Now {
        occurrence,
        due_ms,
        skipped,
        repeating,
        ..
    }] = fired[..]
    else {
        panic!("{fired:?}");
    };
    assert_eq!(
        (occurrence, due_ms, skipped, repeating),
        (3, NOW - 1_000, 3, true)
    );
    let record = store.get(&member.app, member.id).await.unwrap().unwrap();
    assert_eq!(record.occurrences.unwrap().skipped, 3);
}

#[tokio::test]
async fn a_commit_keeps_the_status_until_the_next_occurrence_and_the_last_one_publishes() {
    let schedule = Schedule::Repeating {
        first_at_ms: NOW,
        every_seconds: 60,
        expires_at_ms: Some(NOW + 60_000),
    };
    let (store, clock, member) = store_with(schedule).await;
    for (occurrence, next) in [(0, Some(NOW + 60_000)), (1, None)] {
        let claim = store.claim(0, 10, LEASE).await.unwrap();
        assert_eq!(claim.members, std::slice::from_ref(&member));
        store.fire(0, &claim.members).await.unwrap();
        let published = Published {
            member: &member,
            occurrence,
            repeating: true,
        };
        assert_eq!(store.commit(0, &[published], TTL).await.unwrap(), [next]);
        if next.is_some() {
            // Past the record's first TTL, short of the next occurrence plus the status TTL.
            clock.advance(Duration::from_secs(60));
            assert_eq!(
                status(&store, &member).await,
                Some(MessageStatus::Scheduled)
            );
        }
    }
    assert_eq!(
        status(&store, &member).await,
        Some(MessageStatus::Published)
    );
    clock.advance(TTL - Duration::from_millis(1));
    assert_eq!(
        status(&store, &member).await,
        Some(MessageStatus::Published)
    );
    clock.advance(Duration::from_millis(1));
    clock.advance(TTL);
    assert_eq!(status(&store, &member).await, None);
}

#[tokio::test]
async fn the_latest_times_there_are_neither_panic_nor_fire() {
    let never = Schedule::Delayed { at_ms: i64::MAX };
    let (store, clock, _) = store_with(never).await;
    clock.set_ms(i64::MAX);
    let claim = store.claim(0, 10, Duration::MAX).await.unwrap();
    assert_eq!(
        (claim.members.len(), claim.next_due_ms),
        (0, Some(i64::MAX))
    );
}

#[tokio::test]
async fn a_repeat_whose_next_occurrence_is_past_the_last_time_there_is_ends_after_the_first() {
    let schedule = Schedule::Repeating {
        first_at_ms: NOW,
        every_seconds: u64::MAX,
        expires_at_ms: None,
    };
    let (store, _, member) = store_with(schedule).await;
    let claim = store.claim(0, 10, Duration::MAX).await.unwrap();
    assert_eq!(claim.members, std::slice::from_ref(&member));
    store.fire(0, &claim.members).await.unwrap();
    let published = Published {
        member: &member,
        occurrence: 0,
        repeating: true,
    };
    let committed = store.commit(0, &[published], Duration::MAX).await.unwrap();
    assert_eq!(committed, [None]);
    assert_eq!(
        status(&store, &member).await,
        Some(MessageStatus::Published)
    );
}
