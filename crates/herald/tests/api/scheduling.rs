//! Delayed and repeating delivery: not before its time, soon after, repeats exactly, and cancel
//! has exactly one winner against the fire. On the in-memory backends time is a manual clock the
//! test moves, so these tests wait for no wall-clock time there.

use herald::Role;
use herald_runtime::clock::ManualClock;
use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{
    count_by_id, fresh_prefix, now_ms, poll_until, test_config, wait_for_status, Backend, Client,
    TestApp,
};

on_both_backends!(
    a_delayed_message_is_delivered_at_its_time_not_before,
    a_repeating_message_is_delivered_once_per_occurrence_until_it_expires,
    a_message_cancelled_before_its_time_is_never_delivered,
    cancel_between_occurrences_stops_the_rest,
    cancel_racing_the_fire_has_exactly_one_winner,
    the_latest_publish_at_there_is_is_scheduled_and_cancellable,
);

/// A standalone herald and the time that decides what is due to it. In memory that is a manual
/// clock, which only the test moves. On Redis it is Redis's clock, which is part of what these
/// tests test there, so it runs in real time and the tests poll with deadlines.
struct Timed {
    app: TestApp,
    manual: Option<ManualClock>,
}

impl Timed {
    async fn spawn(backend: Backend) -> Self {
        let config = test_config(backend, &fresh_prefix());
        let manual = (backend == Backend::InMemory).then(ManualClock::at_system_time);
        let app = match &manual {
            Some(manual) => {
                TestApp::spawn_with_clock(Role::Standalone, config, manual.clock()).await
            }
            None => TestApp::spawn_with(Role::Standalone, config).await,
        };
        Self { app, manual }
    }

    fn client(&self) -> &Client {
        &self.app.client
    }

    fn now_ms(&self) -> i64 {
        self.manual
            .as_ref()
            .map_or_else(now_ms, ManualClock::now_ms)
    }

    /// Lets time run on to `at_ms`: the manual clock jumps there; real time gets there by itself
    /// while the test polls.
    fn run_to(&self, at_ms: i64) {
        if let Some(manual) = &self.manual {
            let ahead = (at_ms - manual.now_ms()).max(0) as u64;
            manual.advance(Duration::from_millis(ahead));
        }
    }
}

/// Publishes a marker due at `at_ms`, lets time run to it and polls until it arrives: everything
/// due before it has been delivered by then. Returns all messages received, the marker included.
async fn receive_until_marker(t: &Timed, subscription: &str, at_ms: i64) -> Vec<Value> {
    let client = t.client();
    let marker = client
        .publish_ok("news", json!({"message": "marker", "publishAt": at_ms}))
        .await;
    t.run_to(at_ms);
    let mut received = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while !received
        .iter()
        .any(|m: &Value| m["messageId"] == marker.as_str())
    {
        assert!(
            tokio::time::Instant::now() < until,
            "the marker never arrived"
        );
        received
            .extend(poll_until(client, "news", subscription, 1, Duration::from_millis(500)).await);
    }
    received
}

async fn a_delayed_message_is_delivered_at_its_time_not_before(backend: Backend) {
    let t = Timed::spawn(backend).await;
    let client = t.client();
    let subscription = client.subscribe("news").await;
    let publish_at = t.now_ms() + 1_500;
    let id = client
        .publish_ok("news", json!({"message": "later", "publishAt": publish_at}))
        .await;
    assert_eq!(client.status(&id).await["status"], "scheduled");
    t.run_to(publish_at);
    let received = poll_until(client, "news", &subscription, 1, Duration::from_secs(10)).await;
    let arrived = t.now_ms();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["messageId"], id);
    let published_at = received[0]["publishedAt"].as_i64().unwrap();
    assert!(
        published_at >= publish_at,
        "delivered {} ms early",
        publish_at - published_at
    );
    // A generous bound, so a busy machine cannot fail it; the lateness goal is the benchmark's.
    assert!(
        arrived - publish_at < 2_000,
        "delivered {} ms late",
        arrived - publish_at
    );
    wait_for_status(client, &id, "published", Duration::from_secs(5)).await;
}

async fn a_repeating_message_is_delivered_once_per_occurrence_until_it_expires(backend: Backend) {
    let t = Timed::spawn(backend).await;
    let client = t.client();
    let subscription = client.subscribe("news").await;
    let start = t.now_ms() + 500;
    // Occurrences at +0, +1, +2 and +3 s; +4 s is past the expiry.
    let body = json!({"message": "tick", "publishAt": start, "repeatEvery": 1, "repeatExpiresAt": start + 3_500});
    let id = client.publish_ok("news", body).await;
    let mut received = Vec::new();
    for k in 0..4 {
        // Each occurrence in its turn: a clock run past the next one would skip this one.
        t.run_to(start + k * 1_000);
        let due = poll_until(client, "news", &subscription, 1, Duration::from_secs(10)).await;
        assert_eq!(
            count_by_id(&due).get(&id),
            Some(&1),
            "occurrence {k}: {due:?}"
        );
        received.extend(due);
    }
    wait_for_status(client, &id, "published", Duration::from_secs(15)).await;
    let status = client.status(&id).await;
    assert_eq!(
        (
            status["occurrences"].clone(),
            status["skippedOccurrences"].clone()
        ),
        (json!(4), json!(0)),
        "{status}"
    );
    received.extend(receive_until_marker(&t, &subscription, t.now_ms() + 1_500).await);
    assert_eq!(count_by_id(&received)[&id], 4, "{received:?}");
    let times: Vec<i64> = received
        .iter()
        .filter(|m| m["messageId"] == id.as_str())
        .map(|m| m["publishedAt"].as_i64().unwrap())
        .collect();
    for (k, at) in times.iter().enumerate() {
        assert!(
            *at >= start + k as i64 * 1_000,
            "occurrence {k} came early: {times:?}"
        );
    }
}

async fn a_message_cancelled_before_its_time_is_never_delivered(backend: Backend) {
    let t = Timed::spawn(backend).await;
    let client = t.client();
    let subscription = client.subscribe("news").await;
    let at = t.now_ms() + 1_000;
    let id = client
        .publish_ok("news", json!({"message": "no", "publishAt": at}))
        .await;
    let repeating = client
        .publish_ok(
            "news",
            json!({"message": "no", "publishAt": at, "repeatEvery": 1}),
        )
        .await;
    for id in [&id, &repeating] {
        let (status, answer) = client.cancel(id).await;
        assert_eq!(status, 200, "{answer}");
    }
    let received = receive_until_marker(&t, &subscription, at + 1_500).await;
    let counts = count_by_id(&received);
    assert!(
        !counts.contains_key(&id) && !counts.contains_key(&repeating),
        "{received:?}"
    );
    assert_eq!(client.status(&id).await["status"], "cancelled");
}

async fn cancel_between_occurrences_stops_the_rest(backend: Backend) {
    let t = Timed::spawn(backend).await;
    let client = t.client();
    let subscription = client.subscribe("news").await;
    let id = client
        .publish_ok("news", json!({"message": "tick", "repeatEvery": 1}))
        .await;
    let first = poll_until(client, "news", &subscription, 1, Duration::from_secs(10)).await;
    assert_eq!(count_by_id(&first)[&id], 1);
    let (status, answer) = client.cancel(&id).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("cancelled")),
        "{answer}"
    );
    assert_eq!(client.status(&id).await["status"], "cancelled");
    let after = receive_until_marker(&t, &subscription, t.now_ms() + 2_500).await;
    // An occurrence already fired when the cancel came may still arrive; nothing after it.
    let late = count_by_id(&after).get(&id).copied().unwrap_or(0);
    assert!(late <= 1, "{late} occurrences after the cancel");
    let (status, _) = client.cancel(&id).await;
    assert_eq!(status, 400, "a second cancel is 5040");
}

/// In real time on both backends: the race is between concurrent requests and the scheduler's
/// own pace, which a clock the test moves would take out of the race.
async fn cancel_racing_the_fire_has_exactly_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let subscription = app.client.subscribe("news").await;
    let mut races = Vec::new();
    for _round in 0..10 {
        let mut tasks = Vec::new();
        for n in 0..20 {
            let client = app.client.clone();
            tasks.push(tokio::spawn(async move {
                let at = now_ms() + 200;
                let id = client
                    .publish_ok("news", json!({"message": n, "publishAt": at}))
                    .await;
                // Aim the cancel at the fire: a little before, at, or a little after it.
                // From 50 ms before the due time to 600 ms after: early cancels win, late ones
                // lose, and those near the fire race it, whatever the machine's load.
                let aim = at - 50 + (n as i64 * 34) - now_ms();
                tokio::time::sleep(Duration::from_millis(aim.max(0) as u64)).await;
                let (status, answer) = client.cancel(&id).await;
                assert!(status == 200 || answer["code"] == 5040, "{status} {answer}");
                (id, status == 200)
            }));
        }
        for task in tasks {
            races.push(task.await.unwrap());
        }
    }
    let t = Timed { app, manual: None };
    let received = receive_until_marker(&t, &subscription, now_ms() + 1_000).await;
    let counts = count_by_id(&received);
    let mut cancelled = 0;
    for (id, won) in &races {
        let delivered = counts.get(id).copied().unwrap_or(0);
        if *won {
            cancelled += 1;
            assert_eq!(delivered, 0, "{id} was cancelled and delivered");
        } else {
            assert_eq!(
                delivered, 1,
                "{id} lost the race to the fire but was delivered {delivered} times"
            );
        }
    }
    assert!(
        races.len() == 200 && cancelled > 0,
        "{cancelled} of {} cancels won",
        races.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jump_past_several_occurrences_fires_the_latest_once_and_skips_the_rest() {
    let t = Timed::spawn(Backend::InMemory).await;
    let client = t.client();
    let subscription = client.subscribe("news").await;
    let start = t.now_ms();
    let id = client
        .publish_ok("news", json!({"message": "tick", "repeatEvery": 3}))
        .await;
    let first = poll_until(client, "news", &subscription, 1, Duration::from_secs(10)).await;
    assert_eq!(count_by_id(&first)[&id], 1);
    // Occurrences 1, 2 and 3 are due at +3, +6 and +9 s: at +10 s only the latest fires.
    t.run_to(start + 10_000);
    let caught_up = poll_until(client, "news", &subscription, 1, Duration::from_secs(10)).await;
    let times: Vec<i64> = caught_up
        .iter()
        .filter(|m| m["messageId"] == id.as_str())
        .map(|m| m["publishedAt"].as_i64().unwrap())
        .collect();
    assert_eq!(
        times,
        [start + 10_000],
        "one occurrence, stamped by the clock"
    );
    let skipped = || async { client.status(&id).await["skippedOccurrences"] == 2 };
    crate::support::eventually(Duration::from_secs(5), "two are counted skipped", skipped).await;
    let after = receive_until_marker(&t, &subscription, start + 11_000).await;
    assert_eq!(count_by_id(&after).get(&id), None, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_record_lives_its_ttl_on_the_clock_then_is_unknown() {
    let t = Timed::spawn(Backend::InMemory).await;
    let client = t.client();
    let ttl_ms = test_config(Backend::InMemory, "").status.ttl.as_millis() as i64;
    let publish_at = t.now_ms() + 60_000;
    let id = client
        .publish_ok("news", json!({"message": 1, "publishAt": publish_at}))
        .await;
    let (status, _) = client.cancel(&id).await;
    assert_eq!(status, 200);
    t.run_to(t.now_ms() + ttl_ms - 1);
    assert_eq!(client.status(&id).await["status"], "cancelled");
    t.run_to(t.now_ms() + 1);
    assert_eq!(client.status(&id).await["status"], "unknown");
}

async fn the_latest_publish_at_there_is_is_scheduled_and_cancellable(backend: Backend) {
    let t = Timed::spawn(backend).await;
    let client = t.client();
    for body in [
        json!({"message": 1, "publishAt": i64::MAX}),
        json!({"message": 1, "publishAt": i64::MAX, "repeatEvery": i64::MAX}),
        json!({"message": 1, "publishAt": i64::MAX - 1, "repeatEvery": 1, "repeatExpiresAt": i64::MAX}),
    ] {
        let id = client.publish_ok("news", body).await;
        assert_eq!(client.status(&id).await["status"], "scheduled");
        let (status, answer) = client.cancel(&id).await;
        assert_eq!(status, 200, "{answer}");
    }
}
