//! Polling subscriptions: each message once per subscription, only its channel's messages, in
//! the Backendless polled shape.

use serde_json::json;
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{
    fresh_prefix, poll_until, publish_selector_set, real_urls, test_config, wait_for_status,
    Backend, TestApp, APP_ID,
};
use herald::Role;
use herald_backend::store::keys::Keys;
use secrecy::ExposeSecret;

on_both_backends!(
    each_subscriber_receives_each_message_of_its_channel_once,
    subscribers_receive_only_messages_published_after_they_subscribed,
    polled_messages_have_the_backendless_shape,
    a_subscriber_that_falls_behind_gets_the_newest_messages_up_to_the_cap,
    a_polling_subscription_with_a_selector_receives_only_matching_messages,
    an_invalid_selector_is_refused_with_its_position,
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

async fn a_polling_subscription_with_a_selector_receives_only_matching_messages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let selected = app
        .client
        .subscribe_with("news", json!({"selector": "foo > 10"}))
        .await;
    let everything = app.client.subscribe("news").await;
    let published = publish_selector_set(&app.client, "news").await;
    let all = poll_until(&app.client, "news", &everything, 7, Duration::from_secs(5)).await;
    assert_eq!(all.len(), 7, "every message was delivered");
    let received = poll_until(&app.client, "news", &selected, 3, Duration::from_secs(5)).await;
    let ids: Vec<&str> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = [0, 2, 6].iter().map(|&i| published[i].as_str()).collect();
    assert_eq!(ids, expected);
    assert!(app.client.poll_ok("news", &selected).await.is_empty());
}

async fn an_invalid_selector_is_refused_with_its_position(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, answer) = app
        .client
        .try_subscribe("news", json!({"selector": "importance = "}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], 9021);
    assert_eq!(
        answer["message"],
        "invalid selector: expected a value after '=' at position 13, found end of input"
    );
}

async fn a_subscriber_that_falls_behind_gets_the_newest_messages_up_to_the_cap(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    config.polling.inbox_cap = NonZeroUsize::new(5).unwrap();
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let subscription = app.client.subscribe("news").await;
    let mut published = Vec::new();
    for n in 0..8 {
        published.push(app.client.publish_ok("news", json!({"message": n})).await);
    }
    for id in &published {
        wait_for_status(&app.client, id, "published", Duration::from_secs(5)).await;
    }
    let received = app.client.poll_ok("news", &subscription).await;
    let ids: Vec<&str> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    let newest: Vec<&str> = published[3..].iter().map(String::as_str).collect();
    assert_eq!(ids, newest, "the buffer keeps the newest 5");
    assert!(app.client.poll_ok("news", &subscription).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_keys_in_redis_expire_when_idle() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    config.polling.subscription_ttl = Duration::from_secs(30);
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let subscription = app.client.subscribe("news").await;
    let id = app.client.publish_ok("news", json!({"message": 1})).await;
    wait_for_status(&app.client, &id, "published", Duration::from_secs(5)).await;

    let (_, redis) = real_urls();
    let mut conn = redis::Client::open(redis.expose_secret())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let channel = herald_core::ChannelName::parse("news").unwrap();
    let keys = Keys::new(&prefix, 16).inbox(APP_ID, &channel);
    let sub_id = herald_core::SubscriptionId::parse(&subscription).unwrap();
    for (key, limit_ms) in [
        (keys.subscription(sub_id), 30_000),
        (keys.subscriptions(), 30_000),
        (keys.buffer(), 120_000),
    ] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 0 && ttl <= limit_ms,
            "{key} has TTL {ttl} ms, expected (0, {limit_ms}]"
        );
    }
}
