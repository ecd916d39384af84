//! The schedule store's contract for one-shot messages and what every entry goes through: an
//! entry is stored once, claimed under a lease when due (never before, at most a batch at a
//! time, only from its shard), fired through the step cancel also takes (one winner), committed,
//! and committed. Leases, lifetimes and shards are in `leases.rs`, repeating messages in
//! `repeats.rs`.

use herald_backend::store::schedule::{Claim, Fire, Member, NewEntry, Published};
use herald_core::schedule::Schedule;
use herald_core::status::{DeliveryKind, MessageStatus, Occurrences, StatusRecord};
use herald_core::MessageId;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{envelope_of, eventually, wall_ms, Settings, Stores, Times, APP, CHANNEL};

pub const LONG: Duration = Duration::from_secs(60);

pub async fn claim(stores: &Stores, shard: u32, batch: usize, lease: Duration) -> Claim {
    stores
        .schedule
        .claim(shard, batch, lease)
        .await
        .expect("claim answers")
}

/// Claims what is due in the shard of `member`, under a long lease.
pub async fn claim_of(stores: &Stores, member: &Member) -> Claim {
    claim(stores, stores.shard(member), 100, LONG).await
}

pub async fn fire(stores: &Stores, member: &Member) -> Fire {
    let fired = stores
        .schedule
        .fire(stores.shard(member), std::slice::from_ref(member))
        .await
        .expect("fire answers");
    assert_eq!(fired.len(), 1, "{fired:?}");
    fired.into_iter().next().unwrap()
}

pub async fn commit(
    stores: &Stores,
    member: &Member,
    occurrence: u64,
    repeating: bool,
) -> Option<i64> {
    let published = Published {
        member,
        occurrence,
        repeating,
    };
    let next = stores
        .schedule
        .commit(
            stores.shard(member),
            &[published],
            stores.settings.status_ttl,
        )
        .await
        .expect("commit answers");
    assert_eq!(next.len(), 1, "{next:?}");
    next[0]
}

pub async fn status(stores: &Stores, member: &Member) -> Option<StatusRecord> {
    stores
        .statuses
        .get(APP, member.id)
        .await
        .expect("get answers")
}

pub fn record(status: MessageStatus, fired: u64, skipped: u64) -> Option<StatusRecord> {
    Some(StatusRecord {
        status,
        error_message: None,
        occurrences: Some(Occurrences { fired, skipped }),
        channel: Some(CHANNEL.into()),
    })
}

/// What firing a one-shot entry due at `due_ms` hands out.
pub fn one_shot(member: &Member, due_ms: i64) -> Fire {
    Fire::Now {
        occurrence: 0,
        envelope: envelope_of(member),
        due_ms,
        skipped: 0,
        repeating: false,
    }
}

/// Asserts the shard of `member` holds nothing: no entry due, none claimed.
pub async fn assert_empty(stores: &Stores, member: &Member) {
    let after = claim_of(stores, member).await;
    assert_eq!(after.members, []);
    assert_eq!(
        (
            after.pending,
            after.in_flight,
            after.next_due_ms,
            after.next_lease_ms
        ),
        (0, 0, None, None),
        "{after:?}"
    );
}

on_both_backends!(Settings::default() =>
    an_entry_is_claimed_once_it_is_due_and_not_before,
    storing_an_entry_again_keeps_the_first,
    a_claim_takes_at_most_its_batch_earliest_first,
    firing_a_one_shot_entry_hands_out_occurrence_0_and_its_envelope,
    committing_a_one_shot_occurrence_ends_its_entry,
    a_one_shot_message_being_fired_cannot_be_cancelled,
    a_cancel_before_the_fire_makes_the_fire_gone,
    a_cancel_before_the_claim_leaves_nothing_to_fire,
    storing_a_cancelled_finished_or_unknown_message_drops_it,
    storing_an_entry_wakes_the_schedulers_with_its_shard_and_due_time,
);

async fn an_entry_is_claimed_once_it_is_due_and_not_before(stores: &Stores) {
    let now = wall_ms();
    let (later, later_due) = stores
        .schedule_message(Times::once(now + 60_000), LONG)
        .await;
    let (due, due_at) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    assert_eq!((later_due, due_at), (Some(now + 60_000), Some(now - 1_000)));

    let first = claim(stores, 0, 100, LONG).await;
    assert_eq!(first.members, std::slice::from_ref(&due));
    assert!(first.now_ms >= now, "{first:?}");
    assert_eq!(first.expired_leases, 0);
    assert_eq!(first.next_due_ms, Some(now + 60_000));
    assert_eq!(first.next_lease_ms, Some(first.now_ms + 60_000));
    assert_eq!((first.pending, first.in_flight), (1, 1));

    let second = claim(stores, 0, 100, LONG).await;
    assert_eq!(second.members, []);
    assert_eq!((second.pending, second.in_flight), (1, 1));
    assert_eq!(fire(stores, &later).await, Fire::NotDue(now + 60_000));
}

async fn storing_an_entry_again_keeps_the_first(stores: &Stores) {
    let now = wall_ms();
    let (member, due) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    let again = stores
        .schedule
        .store(NewEntry {
            member: &member,
            envelope: r#"{"test":"another"}"#,
            schedule: Schedule::Repeating {
                first_at_ms: now + 60_000,
                every_seconds: 5,
                expires_at_ms: None,
            },
            ttl: LONG,
        })
        .await
        .unwrap();
    assert_eq!((due, again), (Some(now - 1_000), Some(now - 1_000)));
    let claimed = claim_of(stores, &member).await;
    assert_eq!(claimed.members, std::slice::from_ref(&member));
    assert_eq!((claimed.pending, claimed.in_flight), (0, 1));
    assert_eq!(fire(stores, &member).await, one_shot(&member, now - 1_000));
}

async fn a_claim_takes_at_most_its_batch_earliest_first(stores: &Stores) {
    let now = wall_ms();
    let mut members = Vec::new();
    for offset in [3_000, 1_000, 2_000] {
        let (member, _) = stores
            .schedule_message(Times::once(now - offset), LONG)
            .await;
        members.push(member);
    }
    let first = claim(stores, 0, 2, LONG).await;
    assert_eq!(first.members, [members[0].clone(), members[2].clone()]);
    assert_eq!((first.pending, first.in_flight), (1, 2));
    assert_eq!(first.next_due_ms, Some(now - 1_000));
    let second = claim(stores, 0, 2, LONG).await;
    assert_eq!(second.members, [members[1].clone()]);
    assert_eq!((second.pending, second.in_flight), (0, 3));
}

async fn firing_a_one_shot_entry_hands_out_occurrence_0_and_its_envelope(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    assert_eq!(
        claim_of(stores, &member).await.members,
        std::slice::from_ref(&member)
    );
    assert_eq!(fire(stores, &member).await, one_shot(&member, now - 1_000));
    // Fired, it stays claimed until its commit.
    let claimed = claim_of(stores, &member).await;
    assert_eq!((claimed.pending, claimed.in_flight), (0, 1));
}

async fn committing_a_one_shot_occurrence_ends_its_entry(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    claim_of(stores, &member).await;
    fire(stores, &member).await;
    assert_eq!(commit(stores, &member, 0, false).await, None);
    assert_empty(stores, &member).await;
    // The dispatcher, not the schedule, marks a one-shot message published.
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 0)
    );
    assert_eq!(fire(stores, &member).await, Fire::Gone);
    if let Some(redis) = stores.redis() {
        let entry = redis.keys.schedule_entry(APP, member.id);
        let envelope = redis.keys.schedule_envelope(APP, member.id);
        assert_eq!(
            (redis.pttl(&entry).await, redis.pttl(&envelope).await),
            (-2, -2)
        );
    }
}

async fn a_one_shot_message_being_fired_cannot_be_cancelled(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    claim_of(stores, &member).await;
    assert_eq!(fire(stores, &member).await, one_shot(&member, now - 1_000));
    assert!(!stores.statuses.cancel(APP, member.id).await.unwrap());
    assert_eq!(commit(stores, &member, 0, false).await, None);
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 0)
    );
}

async fn a_cancel_before_the_fire_makes_the_fire_gone(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    assert_eq!(
        claim_of(stores, &member).await.members,
        std::slice::from_ref(&member)
    );
    assert!(stores.statuses.cancel(APP, member.id).await.unwrap());
    assert_eq!(fire(stores, &member).await, Fire::Gone);
    assert_empty(stores, &member).await;
    let cancelled = status(stores, &member).await.expect("kept");
    assert_eq!(cancelled.status, MessageStatus::Cancelled);
}

async fn a_cancel_before_the_claim_leaves_nothing_to_fire(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    assert!(stores.statuses.cancel(APP, member.id).await.unwrap());
    // The cancel removes the entry; its place in the due set goes when a claim finds it gone.
    assert_eq!(
        claim_of(stores, &member).await.members,
        std::slice::from_ref(&member)
    );
    assert_eq!(fire(stores, &member).await, Fire::Gone);
    assert_empty(stores, &member).await;
}

async fn storing_a_cancelled_finished_or_unknown_message_drops_it(stores: &Stores) {
    let at = Times::once(wall_ms() - 1_000);
    let cancelled = Member {
        app: APP.into(),
        id: MessageId::new_random(),
    };
    stores
        .create(cancelled.id, DeliveryKind::Deferred, LONG)
        .await;
    assert!(stores.statuses.cancel(APP, cancelled.id).await.unwrap());
    assert_eq!(stores.store_entry(&cancelled, at, LONG).await, None);

    let finished = Member {
        app: APP.into(),
        id: MessageId::new_random(),
    };
    stores
        .create(finished.id, DeliveryKind::Deferred, LONG)
        .await;
    let outcome = herald_backend::store::status::Outcome::Failed("gone".into());
    stores
        .statuses
        .finish(APP, finished.id, outcome)
        .await
        .unwrap();
    assert_eq!(stores.store_entry(&finished, at, LONG).await, None);

    let unknown = Member {
        app: APP.into(),
        id: MessageId::new_random(),
    };
    assert_eq!(stores.store_entry(&unknown, at, LONG).await, None);
    assert_empty(stores, &unknown).await;
}

async fn storing_an_entry_wakes_the_schedulers_with_its_shard_and_due_time(stores: &Stores) {
    let stop = tokio_util::sync::CancellationToken::new();
    let wakeups = stores.schedule.wakeups(stop.clone());
    if stores.redis().is_some() {
        // Signals sent before the subscription is up are lost; its start signals every shard.
        eventually(
            Duration::from_secs(10),
            "the wake-up channel is subscribed",
            || async { wakeups.take().every_shard },
        )
        .await;
    }
    let due_at = wall_ms() + 60_000;
    let (member, due) = stores.schedule_message(Times::once(due_at), LONG).await;
    assert_eq!(due, Some(due_at));
    let mut signalled = std::collections::BTreeMap::new();
    eventually(Duration::from_secs(10), "the entry is signalled", || {
        signalled.extend(wakeups.take().shards);
        let seen = !signalled.is_empty();
        async move { seen }
    })
    .await;
    assert_eq!(
        signalled.into_iter().collect::<Vec<_>>(),
        [(stores.shard(&member), due_at)]
    );
    stop.cancel();
}
