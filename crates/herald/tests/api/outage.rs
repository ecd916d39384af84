//! RabbitMQ or Redis unreachable: publish answers 503 with a clear code, readiness says not
//! ready, and once the service is back nothing accepted is lost.

use herald::Role;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

use crate::support::proxy::{url_address, url_through, Proxy};
use crate::support::{
    eventually, fresh_prefix, poll_until, real_urls, test_config, Backend, TestApp,
};

/// Publishes until one publish is refused; returns the ids of those accepted on the way.
async fn publish_until_refused(app: &TestApp, code: u32) -> Vec<String> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut accepted = Vec::new();
    loop {
        assert!(
            tokio::time::Instant::now() < until,
            "publish never answered 503"
        );
        let (status, answer) = app
            .client
            .publish("news", json!({"message": "during"}))
            .await;
        match status {
            200 => accepted.push(answer["messageId"].as_str().unwrap().to_string()),
            503 => {
                assert_eq!(answer["code"], code, "{answer}");
                return accepted;
            }
            other => panic!("publish answered {other} {answer} while a backend was down"),
        }
    }
}

async fn readiness_reports_down(app: &TestApp, component: &'static str) {
    let client = app.client.clone();
    eventually(
        Duration::from_secs(10),
        "readyz reports the backend down",
        || {
            let client = client.clone();
            async move {
                let (status, body) = client.get_raw("/readyz").await;
                status == 503 && body.contains(component)
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_while_rabbitmq_is_unreachable_answers_503_and_loses_nothing() {
    let (amqp, _) = real_urls();
    let proxy = Proxy::start(url_address(amqp.expose_secret())).await;
    let mut config = test_config(Backend::Real, &fresh_prefix());
    config.amqp.url = Some(SecretString::from(url_through(
        amqp.expose_secret(),
        proxy.address,
    )));
    config.amqp.max_reconnect_backoff_ms = 200;
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let subscription = app.client.subscribe("news").await;

    let mut accepted = Vec::new();
    for _ in 0..5 {
        accepted.push(
            app.client
                .publish_ok("news", json!({"message": "before"}))
                .await,
        );
    }
    proxy.cut();
    accepted.extend(publish_until_refused(&app, 9503).await);
    readiness_reports_down(&app, "rabbitmq").await;
    for _ in 0..3 {
        let (status, answer) = app
            .client
            .publish("news", json!({"message": "refused"}))
            .await;
        assert_eq!(
            (status, answer["code"].clone()),
            (503, json!(9503)),
            "{answer}"
        );
    }

    proxy.restore();
    app.wait_ready().await;
    for _ in 0..5 {
        accepted.push(
            app.client
                .publish_ok("news", json!({"message": "after"}))
                .await,
        );
    }
    let received = poll_until(
        &app.client,
        "news",
        &subscription,
        accepted.len(),
        Duration::from_secs(20),
    )
    .await;
    let ids: Vec<&str> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a message was delivered twice: {ids:?}"
    );
    for id in &accepted {
        assert!(
            unique.contains(id.as_str()),
            "accepted message {id} was lost"
        );
    }
    // At most the one publish that raced the cut may have reached the broker unconfirmed.
    assert!(
        ids.len() <= accepted.len() + 1,
        "{} delivered, {} accepted",
        ids.len(),
        accepted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_while_redis_is_unreachable_answers_503_and_recovers() {
    let (_, redis) = real_urls();
    let proxy = Proxy::start(url_address(redis.expose_secret())).await;
    let mut config = test_config(Backend::Real, &fresh_prefix());
    config.redis.url = Some(SecretString::from(url_through(
        redis.expose_secret(),
        proxy.address,
    )));
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let subscription = app.client.subscribe("news").await;
    let mut accepted = vec![
        app.client
            .publish_ok("news", json!({"message": "before"}))
            .await,
    ];

    proxy.cut();
    accepted.extend(publish_until_refused(&app, 9504).await);
    readiness_reports_down(&app, "redis").await;

    proxy.restore();
    app.wait_ready().await;
    let client = app.client.clone();
    eventually(Duration::from_secs(10), "publishing works again", || {
        let client = client.clone();
        async move { client.publish("news", json!({"message": "probe"})).await.0 == 200 }
    })
    .await;
    accepted.push(
        app.client
            .publish_ok("news", json!({"message": "after"}))
            .await,
    );
    let received = poll_until(
        &app.client,
        "news",
        &subscription,
        accepted.len() + 1,
        Duration::from_secs(20),
    )
    .await;
    let ids: HashSet<&str> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    for id in &accepted {
        assert!(ids.contains(id.as_str()), "accepted message {id} was lost");
    }
}
