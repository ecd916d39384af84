//! Polling subscriptions: each message once per subscription, only its channel's messages, in
//! the Backendless polled shape.

use serde_json::json;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{poll_until, Backend, TestApp};

on_both_backends!(
    each_subscriber_receives_each_message_of_its_channel_once,
    subscribers_receive_only_messages_published_after_they_subscribed,
    polled_messages_have_the_backendless_shape,
);

async fn each_subscriber_receives_each_message_of_its_channel_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.client.subscribe("news").await;
    let second = app.client.subscribe("news").await;
    let other = app.client.subscribe("sports").await;
    let mut published = Vec::new();
    for n in 0..20 {
        published.push(app.client.publish_ok("news", json!({"message": n})).await);
    }
    for subscription in [&first, &second] {
        let received = poll_until(
            &app.client,
            "news",
            subscription,
            20,
            Duration::from_secs(5),
        )
        .await;
        let ids: Vec<&str> = received
            .iter()
            .map(|m| m["messageId"].as_str().unwrap())
            .collect();
        // In publish order, each once: the publisher waited for each answer before the next.
        assert_eq!(
            ids,
            published.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(app.client.poll_ok("news", subscription).await.is_empty());
    }
    // The sports subscriber saw nothing, though news messages were all delivered by now.
    assert!(app.client.poll_ok("sports", &other).await.is_empty());
    let sport = app
        .client
        .publish_ok("sports", json!({"message": "goal"}))
        .await;
    let received = poll_until(&app.client, "sports", &other, 1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["messageId"], sport);
}

async fn subscribers_receive_only_messages_published_after_they_subscribed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let early = app.client.subscribe("news").await;
    let before = app
        .client
        .publish_ok("news", json!({"message": "before"}))
        .await;
    let received = poll_until(&app.client, "news", &early, 1, Duration::from_secs(5)).await;
    assert_eq!(received[0]["messageId"], before);
    let late = app.client.subscribe("news").await;
    let after = app
        .client
        .publish_ok("news", json!({"message": "after"}))
        .await;
    let received = poll_until(&app.client, "news", &late, 1, Duration::from_secs(5)).await;
    let ids: Vec<&str> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![after.as_str()]);
}

async fn polled_messages_have_the_backendless_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let subscription = app.client.subscribe("news").await;
    let body = json!({"message": {"text": "hi", "n": [1, 2]}, "publisherId": "pub-1", "headers": {"city": "Dallas", "foo": 20, "flag": true}});
    let id = app.client.publish_ok("news", body).await;
    let received = poll_until(
        &app.client,
        "news",
        &subscription,
        1,
        Duration::from_secs(5),
    )
    .await;
    let message = &received[0];
    assert_eq!(message["messageId"], id);
    assert_eq!(message["data"], json!({"text": "hi", "n": [1, 2]}));
    assert_eq!(message["publisherId"], "pub-1");
    assert_eq!(
        message["headers"],
        json!({"city": "Dallas", "foo": "20", "flag": "true"})
    );
    let published_at = message["publishedAt"]
        .as_i64()
        .expect("publishedAt is a number");
    assert!((published_at - crate::support::now_ms()).abs() < 60_000);
    assert_eq!(message.as_object().unwrap().len(), 5, "{message}");
}
