//! What crosses RabbitMQ: the envelope carries the publisher's trace context, an unroutable publish is
//! refused and heals, and an envelope the
//! dispatcher cannot read is dead-lettered and its message marked failed.

use herald::Role;
use herald_backend::queue::topology::Topology;
use herald_backend::queue::Route;
use herald_core::Envelope;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::{BasicProperties, Channel, Connection};
use secrecy::ExposeSecret;
use serde_json::json;
use std::time::Duration;

use crate::support::{
    fresh_prefix, now_ms, poll_until, real_urls, test_config, wait_for_status, Backend, TestApp,
    APP_ID,
};

async fn amqp_channel() -> (Connection, Channel) {
    let (amqp, _) = real_urls();
    let connection = Connection::connect(amqp.expose_secret(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

/// Takes one message from `queue`, waiting for it up to a deadline.
async fn take_one(channel: &Channel, queue: &str) -> Vec<u8> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            return message.delivery.data;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "nothing arrived on {queue}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_carries_the_publishers_trace_context() {
    let prefix = fresh_prefix();
    // Ingest alone: the envelope stays on the dispatch route for the test to read.
    let app = TestApp::spawn_with(Role::Ingest, test_config(Backend::Real, &prefix)).await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let request = app
        .client
        .raw()
        .post(app.client.app_url("/messaging/news"))
        .header("traceparent", traceparent)
        .json(&json!({"message": "traced", "headers": {"k": 1}}));
    let (status, answer) = app.client.send(request).await;
    assert_eq!(status, 200, "{answer}");

    let (_connection, channel) = amqp_channel().await;
    let body = take_one(
        &channel,
        &Topology::new(&prefix).queue(herald_backend::queue::Route::Dispatch),
    )
    .await;
    let envelope = Envelope::decode(&body).expect("a v1 envelope");
    assert_eq!(envelope.traceparent.as_deref(), Some(traceparent));
    assert_eq!(envelope.message_id.to_string(), answer["messageId"]);
    assert_eq!(envelope.app_id, APP_ID);
    assert_eq!(envelope.channel.as_str(), "news");
    assert_eq!(envelope.message, json!("traced"));
    assert_eq!(envelope.occurrence, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_envelope_is_dead_lettered_and_its_message_failed() {
    let prefix = fresh_prefix();
    let app = TestApp::spawn_with(Role::Standalone, test_config(Backend::Real, &prefix)).await;
    // A message with a status record that nothing else will touch for an hour.
    let id = app
        .client
        .publish_ok(
            "news",
            json!({"message": 1, "publishAt": now_ms() + 3_600_000}),
        )
        .await;
    let topology = Topology::new(&prefix);
    let (_connection, channel) = amqp_channel().await;
    let from_the_future = json!({"v": 2, "messageId": id, "appId": APP_ID, "somethingNew": true});
    channel
        .basic_publish(
            topology.exchange.as_str().into(),
            "dispatch".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&from_the_future).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap();

    wait_for_status(&app.client, &id, "failed", Duration::from_secs(10)).await;
    let status = app.client.status(&id).await;
    let reason = status["errorMessage"].as_str().expect("an error message");
    assert!(
        reason.contains("unsupported envelope version 2"),
        "{reason}"
    );
    let parked = take_one(&channel, &topology.dead_queue).await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&parked).unwrap(),
        from_the_future
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_publish_answers_503_and_the_topology_heals() {
    let prefix = fresh_prefix();
    let app = TestApp::spawn_with(Role::Ingest, test_config(Backend::Real, &prefix)).await;
    let (_connection, channel) = amqp_channel().await;
    let dispatch = Topology::new(&prefix).queue(herald_backend::queue::Route::Dispatch);
    channel
        .queue_delete(dispatch.as_str().into(), Default::default())
        .await
        .unwrap();

    // Nothing is bound for the route: the broker returns the message and herald says so.
    let (status, answer) = app
        .client
        .publish("news", json!({"message": "lost?"}))
        .await;
    assert_eq!(
        (status, answer["code"].clone()),
        (503, json!(9503)),
        "{answer}"
    );

    // herald declares its topology again, and publishing works.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let id = loop {
        let (status, answer) = app.client.publish("news", json!({"message": "back"})).await;
        if status == 200 {
            break answer["messageId"].as_str().unwrap().to_string();
        }
        assert_eq!(status, 503, "{answer}");
        assert!(
            tokio::time::Instant::now() < until,
            "the topology never healed"
        );
    };
    let body = take_one(&channel, &dispatch).await;
    assert_eq!(Envelope::decode(&body).unwrap().message_id.to_string(), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn occurrences_due_together_cross_as_one_batch() {
    let prefix = fresh_prefix();
    // Sixteen shards (the default): the five are claimed shard by shard, in one round, and
    // published together.
    let config = test_config(Backend::Real, &prefix);
    // Ingest and a scheduler, no dispatcher: what the scheduler fires stays on the dispatch route.
    let _ingest = TestApp::spawn_with(Role::Ingest, config.clone()).await;
    let ingest = &_ingest.client;
    let _scheduler = TestApp::spawn_with(Role::Scheduler, config).await;
    let publish_at = now_ms() + 3_000;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            ingest
                .publish_ok("news", json!({"message": n, "publishAt": publish_at}))
                .await,
        );
    }
    assert!(now_ms() < publish_at, "published before they were due");

    let (_connection, channel) = amqp_channel().await;
    let body = take_one(&channel, &Topology::new(&prefix).queue(Route::Dispatch)).await;
    let mut fired: Vec<String> = herald_core::batch::split_batch(&body)
        .expect("a batch")
        .into_iter()
        .map(|envelope| {
            let envelope = Envelope::decode(envelope).expect("a v1 envelope");
            assert_eq!(envelope.schedule.publish_at, publish_at);
            envelope.message_id.to_string()
        })
        .collect();
    fired.sort();
    ids.sort();
    assert_eq!(
        fired, ids,
        "one broker message carried the five occurrences"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delivers_what_it_can_and_is_dead_lettered_for_the_rest() {
    let prefix = fresh_prefix();
    let app = TestApp::spawn_with(Role::Standalone, test_config(Backend::Real, &prefix)).await;
    let pending = app
        .client
        .publish_ok(
            "news",
            json!({"message": 1, "publishAt": now_ms() + 3_600_000}),
        )
        .await;
    let subscription = app.client.subscribe("news").await;
    let readable = json!({
        "v": 1, "messageId": herald_core::MessageId::new_random().to_string(), "occurrence": 0,
        "appId": APP_ID, "channel": "news", "message": "readable", "publisherId": null,
        "acceptedAt": now_ms(),
    });
    let from_the_future = json!({"v": 2, "messageId": pending, "appId": APP_ID});
    let batch = herald_core::batch::encode_batch([
        serde_json::to_vec(&readable).unwrap().as_slice(),
        serde_json::to_vec(&from_the_future).unwrap().as_slice(),
    ]);
    let topology = Topology::new(&prefix);
    let (_connection, channel) = amqp_channel().await;
    channel
        .basic_publish(
            topology.exchange.as_str().into(),
            "dispatch".into(),
            BasicPublishOptions::default(),
            &batch,
            BasicProperties::default(),
        )
        .await
        .unwrap();

    let delivered = poll_until(
        &app.client,
        "news",
        &subscription,
        1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["data"], "readable", "{delivered:?}");
    wait_for_status(&app.client, &pending, "failed", Duration::from_secs(10)).await;
    let parked = take_one(&channel, &topology.dead_queue).await;
    assert_eq!(parked, batch, "the whole batch is parked for operators");
}
