//! The schedule store's contract over time and space: a claimed entry whose lease runs out
//! without a commit is claimed again (and a late second commit counts nothing twice), an entry
//! and its status record live no longer than they were given, and each entry is claimed from
//! its own shard.

use herald_backend::store::schedule::{shard_of, Fire, Member};
use herald_core::status::{DeliveryKind, MessageStatus};
use herald_core::MessageId;
use std::time::Duration;

use crate::on_both_backends;
use crate::schedule::{
    assert_empty, claim, claim_of, commit, fire, one_shot, record, status, LONG,
};
use crate::support::{eventually, ms, wall_ms, Settings, Stores, Times, APP};

on_both_backends!(Settings::default() =>
    a_fired_occurrence_without_a_commit_is_claimed_again_after_its_lease,
);

on_both_backends!(Settings::default() =>
    committing_a_one_shot_occurrence_twice_counts_it_once,
);

on_both_backends!(Settings::default() =>
    a_commit_after_the_status_expired_leaves_no_record_behind,
);

on_both_backends!(Settings::default() =>
    an_entry_is_kept_no_longer_than_its_ttl,
);

on_both_backends!(Settings { shards: 4, ..Settings::default() } =>
    each_entry_is_claimed_from_its_own_shard,
);

async fn committing_a_one_shot_occurrence_twice_counts_it_once(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    claim_of(stores, &member).await;
    fire(stores, &member).await;
    assert_eq!(commit(stores, &member, 0, false).await, None);
    // A second scheduler that took the occurrence over after a lease ran out commits it too.
    assert_eq!(commit(stores, &member, 0, false).await, None);
    assert_eq!(
        status(stores, &member).await,
        record(MessageStatus::Scheduled, 1, 0)
    );
}

async fn a_commit_after_the_status_expired_leaves_no_record_behind(stores: &Stores) {
    let member = Member {
        app: APP.into(),
        id: MessageId::new_random(),
    };
    stores
        .create(member.id, DeliveryKind::Deferred, ms(2_000))
        .await;
    let at = Times::once(wall_ms() - 1_000);
    assert_eq!(
        stores.store_entry(&member, at, LONG).await,
        Some(at.first_at_ms)
    );
    claim_of(stores, &member).await;
    assert_eq!(
        fire(stores, &member).await,
        one_shot(&member, at.first_at_ms)
    );
    // The publish took longer than the record's life.
    eventually(
        Duration::from_secs(10),
        "the status record expired",
        || async { status(stores, &member).await.is_none() },
    )
    .await;
    assert_eq!(commit(stores, &member, 0, false).await, None);
    assert_eq!(status(stores, &member).await, None);
    if let Some(redis) = stores.redis() {
        assert_eq!(redis.pttl(&redis.keys.status(APP, member.id)).await, -2);
    }
}

async fn a_fired_occurrence_without_a_commit_is_claimed_again_after_its_lease(stores: &Stores) {
    let now = wall_ms();
    let (member, _) = stores
        .schedule_message(Times::once(now - 1_000), LONG)
        .await;
    let first = claim(stores, 0, 100, ms(200)).await;
    assert_eq!(first.members, std::slice::from_ref(&member));
    assert_eq!(fire(stores, &member).await, one_shot(&member, now - 1_000));
    // No commit: the scheduler died. Claims see it in flight until its lease runs out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let again = loop {
        let claimed = claim(stores, 0, 100, LONG).await;
        if !claimed.members.is_empty() {
            break claimed;
        }
        assert_eq!((claimed.expired_leases, claimed.in_flight), (0, 1));
        assert!(
            tokio::time::Instant::now() < deadline,
            "never claimed again"
        );
        tokio::time::sleep(ms(20)).await;
    };
    assert_eq!(again.members, std::slice::from_ref(&member));
    assert_eq!(again.expired_leases, 1);
    assert_eq!((again.pending, again.in_flight), (0, 1));
    // The same occurrence again, which consumers recognise as a duplicate.
    assert_eq!(fire(stores, &member).await, one_shot(&member, now - 1_000));
    assert_eq!(commit(stores, &member, 0, false).await, None);
    assert_empty(stores, &member).await;
}

async fn an_entry_is_kept_no_longer_than_its_ttl(stores: &Stores) {
    let member = Member {
        app: APP.into(),
        id: MessageId::new_random(),
    };
    stores.create(member.id, DeliveryKind::Deferred, LONG).await;
    let due = wall_ms() + 500;
    stores.store_entry(&member, Times::once(due), ms(300)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while claim_of(stores, &member).await.members.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never due");
        tokio::time::sleep(ms(20)).await;
    }
    assert_eq!(fire(stores, &member).await, Fire::Gone);
}

async fn each_entry_is_claimed_from_its_own_shard(stores: &Stores) {
    let now = wall_ms();
    let shards = stores.schedule.shards();
    let mut members = Vec::new();
    for _ in 0..16 {
        members.push(
            stores
                .schedule_message(Times::once(now - 1_000), LONG)
                .await
                .0,
        );
    }
    let mut claimed = Vec::new();
    for shard in 0..shards {
        let mut expected: Vec<Member> = members
            .iter()
            .filter(|m| shard_of(m.id, shards) == shard)
            .cloned()
            .collect();
        let mut taken = claim(stores, shard, 100, LONG).await.members;
        let key = |m: &Member| m.id.to_string();
        expected.sort_by_key(key);
        taken.sort_by_key(key);
        assert_eq!(taken, expected, "shard {shard} of {shards}");
        claimed.extend(taken);
    }
    assert_eq!(claimed.len(), members.len());
    // Redis spreads the schedule over the shards asked for; memory has one.
    assert_eq!(shards, if stores.redis().is_some() { 4 } else { 1 });
}
