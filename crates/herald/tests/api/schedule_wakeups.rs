//! Storing an entry tells the firing loops its shard and due time, so a loop claims that shard
//! (and only that one) early, whichever scheduler stored it. Without the shard, every loop would
//! have to claim every shard.

use herald_backend::store::schedule::{shard_of, Member, NewEntry, Wakeups};
use herald_backend::Backends;
use herald_core::schedule::Schedule;
use herald_core::status::DeliveryKind;
use herald_core::MessageId;
use herald_runtime::clock::Clock;
use herald_runtime::Health;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::on_both_backends;
use crate::support::{eventually, fresh_prefix, now_ms, test_config, Backend, APP_ID};

on_both_backends!(a_stored_entry_wakes_the_loops_with_its_shard_and_due_time);

async fn a_stored_entry_wakes_the_loops_with_its_shard_and_due_time(backend: Backend) {
    let config = test_config(backend, &fresh_prefix());
    let start = || {
        Backends::start(
            &config.backend(),
            "scheduler",
            &prometheus::Registry::new(),
            &Health::new(),
            Clock::system(),
        )
        .expect("backends start")
    };
    // Two schedulers on the real backends (one stores, the other's loop is woken); the embedded
    // backends are one process.
    let storing = start();
    let woken = match backend {
        Backend::Real => start(),
        Backend::InMemory => storing.clone(),
    };
    let shutdown = CancellationToken::new();
    let wakeups = woken.schedule.wakeups(shutdown.clone());
    if backend == Backend::Real {
        // The subscription announces itself (signals sent before it were missed).
        wait(&wakeups).await;
        assert!(
            wakeups.take().every_shard,
            "a subscription wakes every shard"
        );
    }

    let member = Member {
        app: APP_ID.to_string(),
        id: MessageId::new_random(),
    };
    let due = now_ms() + 3_600_000;
    let ttl = Duration::from_secs(7_200);
    // Redis's commands take their own connection, which may come up after the subscription's.
    let (statuses, id) = (&storing.statuses, member.id);
    eventually(
        Duration::from_secs(10),
        "redis takes the status",
        || async move {
            statuses
                .create(APP_ID, id, "news", DeliveryKind::Deferred, ttl)
                .await
                .is_ok()
        },
    )
    .await;
    let stored = storing
        .schedule
        .store(NewEntry {
            member: &member,
            envelope: "{}",
            schedule: Schedule::Delayed { at_ms: due },
            ttl,
        })
        .await
        .unwrap();
    assert_eq!(stored, Some(due));

    wait(&wakeups).await;
    let woken = wakeups.take();
    assert!(!woken.every_shard, "only the entry's shard is signalled");
    let shard = shard_of(member.id, storing.schedule.shards());
    assert_eq!(woken.shards.into_iter().collect::<Vec<_>>(), [(shard, due)]);
    shutdown.cancel();
}

async fn wait(wakeups: &Arc<Wakeups>) {
    tokio::time::timeout(Duration::from_secs(10), wakeups.changed())
        .await
        .expect("the loop is woken");
}
