//! Schedulers as separate processes and under failure: several share one Redis without a
//! duplicate or a loss, one killed while it holds claims loses nothing, an idle one fires what a
//! dead one stored, occurrences missed while none ran are skipped (not replayed in a burst), and
//! messages due while the broker is unreachable are delivered once it is back.
//!
//! They run in real time: the schedulers share Redis (several are separate processes), and
//! Redis's clock, which decides what is due there, is part of what they test. A past that a test
//! needs (occurrences missed while no scheduler ran) is set up through the store API instead of
//! waited for.

use herald::Role;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

use crate::support::process::{real_env, HeraldProcess};
use crate::support::proxy::{amqp_through_proxy, url_address, url_through, Proxy};
use crate::support::{
    count_by_id, eventually, fresh_prefix, now_ms, poll_until, publish_due_at, real_urls,
    test_config, Backend, Client, TestApp, APP_ID,
};
use herald_backend::store::keys::Keys;
use herald_backend::store::schedule::{Member, NewEntry};
use herald_backend::Backends;
use herald_core::envelope::ENVELOPE_VERSION;
use herald_core::schedule::{AcceptedSchedule, ScheduleFields};
use herald_core::status::DeliveryKind;
use herald_core::{stored_envelope, ChannelName, Envelope, MessageId};
use herald_runtime::clock::Clock;
use herald_runtime::Health;

/// Ingest and a dispatcher under `prefix`, in this process.
async fn ingest_and_dispatcher(prefix: &str) -> (TestApp, TestApp) {
    let ingest = TestApp::spawn_with(Role::Ingest, test_config(Backend::Real, prefix)).await;
    let dispatcher =
        TestApp::spawn_with(Role::Dispatcher, test_config(Backend::Real, prefix)).await;
    (ingest, dispatcher)
}

/// Polls until the message `marker` arrives; returns the count of each message id received.
async fn counts_until(
    client: &Client,
    subscription: &str,
    marker: &str,
    deadline: Duration,
) -> HashMap<String, usize> {
    let until = tokio::time::Instant::now() + deadline;
    let mut counts: HashMap<String, usize> = HashMap::new();
    while !counts.contains_key(marker) {
        assert!(
            tokio::time::Instant::now() < until,
            "the marker never arrived"
        );
        for m in poll_until(client, "news", subscription, 1, Duration::from_millis(500)).await {
            *counts
                .entry(m["messageId"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    counts
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    let (_, redis) = real_urls();
    redis::Client::open(redis.expose_secret())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// How many entries the schedule's due sets of `prefix` hold, over every shard.
async fn due_entries(prefix: &str) -> i64 {
    let shards = herald::Config::defaults()
        .expect("defaults")
        .scheduler
        .shards
        .get();
    let mut conn = redis_conn().await;
    let keys = Keys::new(prefix, shards);
    let mut total = 0;
    for shard in 0..shards {
        let n: i64 = redis::cmd("ZCARD")
            .arg(keys.due(shard))
            .query_async(&mut conn)
            .await
            .unwrap();
        total += n;
    }
    total
}

/// Takes a message on "news" repeating every `every_seconds` from `first_at_ms` into the
/// schedule of `prefix` through the store API, as a scheduler would have taken it at that time:
/// when `first_at_ms` is past, its first occurrences came due while no scheduler ran.
async fn schedule_since(prefix: &str, first_at_ms: i64, every_seconds: u64) -> MessageId {
    let config = test_config(Backend::Real, prefix);
    let backends = Backends::start(
        &config.backend(),
        "scheduler",
        &prometheus::Registry::new(),
        &Health::new(),
        Clock::system(),
    )
    .expect("backends start");
    let fields = ScheduleFields {
        publish_at: first_at_ms,
        repeat_every: every_seconds,
        repeat_expires_at: 0,
    };
    let envelope = Envelope {
        v: ENVELOPE_VERSION,
        message_id: MessageId::new_random(),
        occurrence: 0,
        app_id: APP_ID.into(),
        channel: ChannelName::parse("news").unwrap(),
        message: json!("tick"),
        publisher_id: None,
        headers: Default::default(),
        schedule: AcceptedSchedule::accepted(fields, first_at_ms),
        accepted_at: first_at_ms,
        traceparent: None,
    };
    let id = envelope.message_id;
    let schedule = envelope.schedule.schedule();
    let ttl = schedule.ttl(now_ms(), Duration::from_secs(600));
    let backends = &backends;
    eventually(
        Duration::from_secs(10),
        "redis takes the status",
        || async move {
            backends
                .statuses
                .create(APP_ID, id, "news", DeliveryKind::Deferred, ttl)
                .await
                .is_ok()
        },
    )
    .await;
    let member = Member {
        app: APP_ID.into(),
        id,
    };
    let stored = backends
        .schedule
        .store(NewEntry {
            member: &member,
            envelope: &stored_envelope::compact(&envelope).expect("the envelope serializes"),
            schedule,
            ttl,
        })
        .await
        .expect("the schedule takes the entry");
    assert_eq!(stored, Some(first_at_ms));
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_scheduler_processes_deliver_every_occurrence_exactly_once() {
    let prefix = fresh_prefix();
    let (ingest, _dispatcher) = ingest_and_dispatcher(&prefix).await;
    let env = real_env(&prefix);
    let mut schedulers = Vec::new();
    for _ in 0..3 {
        let process = HeraldProcess::start("scheduler", &env).await;
        Client::new(process.address)
            .wait_ready(Duration::from_secs(20))
            .await;
        schedulers.push(process);
    }
    let client = &ingest.client;
    let subscription = client.subscribe("news").await;
    let start = now_ms() + 1_500;
    let mut expected = HashMap::new();
    for n in 0..60 {
        let at = start + (n % 10) * 100;
        expected.insert(
            client
                .publish_ok("news", json!({"message": n, "publishAt": at}))
                .await,
            1,
        );
    }
    for n in 0..5 {
        let body = json!({"message": n, "publishAt": start, "repeatEvery": 1, "repeatExpiresAt": start + 3_500});
        expected.insert(client.publish_ok("news", body).await, 4);
    }
    let marker = client
        .publish_ok(
            "news",
            json!({"message": "marker", "publishAt": start + 5_000}),
        )
        .await;
    let mut counts = counts_until(client, &subscription, &marker, Duration::from_secs(30)).await;
    counts.remove(&marker);
    assert_eq!(counts, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_killed_while_holding_claims_loses_nothing() {
    let prefix = fresh_prefix();
    let (ingest, _dispatcher) = ingest_and_dispatcher(&prefix).await;
    let (amqp, _) = real_urls();
    let proxy = Proxy::start(url_address(amqp.expose_secret())).await;
    let mut env = real_env(&prefix);
    env.insert(
        "HERALD_AMQP__URL".into(),
        url_through(amqp.expose_secret(), proxy.address),
    );
    env.insert("HERALD_SCHEDULER__LEASE_MS".into(), "1000".into());
    let mut doomed = HeraldProcess::start("scheduler", &env).await;
    Client::new(doomed.address)
        .wait_ready(Duration::from_secs(20))
        .await;

    let client = &ingest.client;
    let subscription = client.subscribe("news").await;
    let at = now_ms() + 2_000;
    let expected = publish_due_at(client, 50, at).await;
    // Once the doomed scheduler holds the whole schedule, cut it off from the broker: at the due
    // time it claims the entries and cannot publish them. Then kill it outright.
    eventually(
        Duration::from_secs(10),
        "the scheduler stored every message",
        || async { due_entries(&prefix).await == 50 },
    )
    .await;
    proxy.cut();
    eventually(
        Duration::from_secs(10),
        "the doomed scheduler claimed them",
        || async { due_entries(&prefix).await == 0 },
    )
    .await;
    doomed.kill();

    let _survivor = TestApp::spawn_with(Role::Scheduler, test_config(Backend::Real, &prefix)).await;
    let marker = client
        .publish_ok(
            "news",
            json!({"message": "marker", "publishAt": now_ms() + 2_500}),
        )
        .await;
    let mut counts = counts_until(client, &subscription, &marker, Duration::from_secs(30)).await;
    counts.remove(&marker);
    assert_eq!(counts, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn occurrences_missed_while_no_scheduler_ran_are_skipped_not_replayed() {
    let prefix = fresh_prefix();
    let (ingest, _dispatcher) = ingest_and_dispatcher(&prefix).await;
    let client = &ingest.client;
    let subscription = client.subscribe("news").await;
    let scheduler = TestApp::spawn_with(Role::Scheduler, test_config(Backend::Real, &prefix)).await;
    // Occurrences due at +0, +3, +6, +9 s, and the entry put into the schedule now, at +6.5 s, as
    // a scheduler would have stored it at +0 before every scheduler stopped: occurrences 0, 1 and
    // 2 came due with nobody to fire them. (The scheduler has until +9 s to fire the latest,
    // which leaves a loaded machine room.)
    let start = now_ms() - 6_500;
    let id = schedule_since(&prefix, start, 3).await.to_string();
    let marker = client
        .publish_ok(
            "news",
            json!({"message": "marker", "publishAt": start + 10_000}),
        )
        .await;
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut received: Vec<Value> = Vec::new();
    while !received.iter().any(|m| m["messageId"] == marker.as_str()) {
        assert!(
            tokio::time::Instant::now() < until,
            "the marker never arrived"
        );
        received
            .extend(poll_until(client, "news", &subscription, 1, Duration::from_millis(500)).await);
    }
    let caught_up: Vec<i64> = received
        .iter()
        .filter(|m| m["messageId"] == id.as_str())
        .map(|m| m["publishedAt"].as_i64().unwrap())
        .filter(|at| *at < start + 9_000)
        .collect();
    // One late occurrence (the latest due), not a burst of three.
    assert_eq!(caught_up.len(), 1, "{caught_up:?}");
    assert!(caught_up[0] >= start + 6_000, "{caught_up:?}");
    let (_, metrics) = scheduler.client.get_raw("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "herald_scheduler_skipped_total 2"),
        "{metrics}"
    );
    assert_eq!(client.status(&id).await["skippedOccurrences"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_scheduler_fires_what_another_stored_and_did_not_live_to_fire() {
    let prefix = fresh_prefix();
    let (ingest, _dispatcher) = ingest_and_dispatcher(&prefix).await;
    // The survivor starts idle, then is cut off from the broker so it cannot take the messages
    // off the schedule route itself: it can only learn of them through the wake-up.
    let mut config = test_config(Backend::Real, &prefix);
    let proxy = amqp_through_proxy(&mut config).await;
    let _survivor = TestApp::spawn_with(Role::Scheduler, config).await;
    proxy.cut();

    let mut doomed = HeraldProcess::start("scheduler", &real_env(&prefix)).await;
    Client::new(doomed.address)
        .wait_ready(Duration::from_secs(20))
        .await;
    let client = &ingest.client;
    let subscription = client.subscribe("news").await;
    let at = now_ms() + 3_000;
    let expected = publish_due_at(client, 20, at).await;
    eventually(
        Duration::from_secs(10),
        "the doomed scheduler stored every message",
        || async { due_entries(&prefix).await == 20 },
    )
    .await;
    doomed.kill();
    proxy.restore();

    let received = poll_until(client, "news", &subscription, 20, Duration::from_secs(20)).await;
    assert_eq!(count_by_id(&received), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_pending_while_the_broker_is_unreachable_are_delivered_once_it_is_back() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    let proxy = amqp_through_proxy(&mut config).await;
    config.scheduler.lease = Duration::from_millis(1_000);
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let client = &app.client;
    let subscription = client.subscribe("news").await;
    let at = now_ms() + 1_500;
    let expected = publish_due_at(client, 30, at).await;
    eventually(
        Duration::from_secs(10),
        "every message is scheduled",
        || async { due_entries(&prefix).await == 30 },
    )
    .await;
    // The broker goes away before the messages are due and stays away past their time: until
    // the scheduler has claimed them all (their time has come) and cannot publish them.
    proxy.cut();
    eventually(
        Duration::from_secs(10),
        "the scheduler claimed every message",
        || async { due_entries(&prefix).await == 0 },
    )
    .await;
    proxy.restore();
    app.wait_ready().await;

    let received = poll_until(client, "news", &subscription, 30, Duration::from_secs(20)).await;
    assert_eq!(count_by_id(&received), expected);
}
