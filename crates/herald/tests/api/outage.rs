//! RabbitMQ or Redis unreachable: publish answers 503 with a clear code, readiness says not
//! ready, and once the service is back nothing accepted is lost or delivered twice.

use herald::Role;
use herald_backend::settings::{AmqpUrl, RedisUrl};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

use crate::support::proxy::{url_address, url_through, Proxy};
use crate::support::{
    eventually, fresh_prefix, poll_until, real_urls, test_config, Backend, TestApp,
};

/// The backend a test makes unreachable, and how herald must say so.
#[derive(Clone, Copy)]
enum Outage {
    RabbitMq,
    Redis,
}

impl Outage {
    fn code(self) -> u32 {
        match self {
            Outage::RabbitMq => 9503,
            Outage::Redis => 9504,
        }
    }

    fn component(self) -> &'static str {
        match self {
            Outage::RabbitMq => "rabbitmq",
            Outage::Redis => "redis",
        }
    }

    /// A standalone herald that reaches this backend through a proxy the test can cut.
    async fn herald_behind_proxy(self) -> (TestApp, Proxy) {
        let (amqp, redis) = real_urls();
        let mut config = test_config(Backend::Real, &fresh_prefix());
        let url = match self {
            Outage::RabbitMq => amqp.expose_secret(),
            Outage::Redis => redis.expose_secret(),
        };
        let proxy = Proxy::start(url_address(url)).await;
        let through = SecretString::from(url_through(url, proxy.address));
        match self {
            Outage::RabbitMq => config.amqp.url = Some(AmqpUrl::parse(through).unwrap()),
            Outage::Redis => config.redis.url = Some(RedisUrl::parse(through).unwrap()),
        }
        config.amqp.max_reconnect_backoff = Duration::from_millis(200);
        (TestApp::spawn_with(Role::Standalone, config).await, proxy)
    }
}

/// Publishes once; the id when accepted, None when refused with `code`.
async fn try_publish(app: &TestApp, code: u32) -> Option<String> {
    let (status, answer) = app.client.publish("news", json!({"message": "m"})).await;
    match status {
        200 => Some(answer["messageId"].as_str().unwrap().to_string()),
        503 => {
            assert_eq!(answer["code"], code, "{answer}");
            None
        }
        other => panic!("publish answered {other} {answer} around an outage"),
    }
}

async fn publishing_through_an_outage_loses_nothing(outage: Outage) {
    let (app, proxy) = outage.herald_behind_proxy().await;
    let subscription = app.client.subscribe("news").await;
    let mut accepted = Vec::new();
    for _ in 0..5 {
        accepted.push(
            try_publish(&app, outage.code())
                .await
                .expect("accepted while up"),
        );
    }

    proxy.cut();
    // Publishes racing the cut may still be accepted; then one is refused.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Some(id) = try_publish(&app, outage.code()).await {
        accepted.push(id);
        assert!(
            tokio::time::Instant::now() < until,
            "publish never answered 503"
        );
    }
    eventually(
        Duration::from_secs(10),
        "readyz reports the backend down",
        || async {
            let (status, body) = app.client.get_raw("/readyz").await;
            status == 503 && body.contains(outage.component())
        },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            try_publish(&app, outage.code()).await,
            None,
            "accepted while down"
        );
    }

    proxy.restore();
    app.wait_ready().await;
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(id) = try_publish(&app, outage.code()).await {
            accepted.push(id);
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "publishing never recovered"
        );
    }
    for _ in 0..5 {
        accepted.push(
            try_publish(&app, outage.code())
                .await
                .expect("accepted once back"),
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
async fn publishing_while_rabbitmq_is_unreachable_answers_503_and_loses_nothing() {
    publishing_through_an_outage_loses_nothing(Outage::RabbitMq).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_while_redis_is_unreachable_answers_503_and_loses_nothing() {
    publishing_through_an_outage_loses_nothing(Outage::Redis).await;
}
