//! Apps are isolated on every REST route: one app's message or subscription, named through
//! another app (by path or by host), is unknown there and never shows the first app's data; and
//! `/api/...` believes a forwarded host only from a trusted proxy.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{fresh_prefix, now_ms, poll_until, test_config, Backend, TestApp};
use herald::Role;
use herald_auth::AppConfig;
use std::time::Duration;

on_both_backends!(
    another_apps_message_and_subscription_are_unknown_on_every_route,
    a_forwarded_host_counts_only_from_a_trusted_proxy,
);

const OTHER_ID: &str = "other-app";
const OTHER_KEY: &str = "other-key";
const OTHER_HOST: &str = "other.example";

/// `method` on `url`, with `host` as the Host header when given.
async fn call(app: &TestApp, method: Method, url: String, host: Option<&str>) -> (u16, Value) {
    let mut request = app.client.raw().request(method, url);
    if let Some(host) = host {
        request = request.header("Host", host);
    }
    app.client.send(request.json(&json!({}))).await
}

async fn another_apps_message_and_subscription_are_unknown_on_every_route(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    let mut other = AppConfig::with_key(OTHER_ID, OTHER_KEY);
    other.domains = vec![OTHER_HOST.into()];
    config.apps.push(other);
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let base = &app.client.base;
    let id = app
        .client
        .publish_ok(
            "news",
            json!({"message": "secret", "publishAt": now_ms() + 600_000}),
        )
        .await;
    let subscription = app.client.subscribe("news").await;
    // The other app, by its path and by its host.
    for (prefix, host) in [
        (format!("{base}/{OTHER_ID}/{OTHER_KEY}"), None),
        (format!("{base}/api"), Some(OTHER_HOST)),
    ] {
        let url = |path: &str| format!("{prefix}{path}");
        let status = call(&app, Method::GET, url(&format!("/messaging/{id}")), host).await;
        assert_eq!(
            status,
            (
                200,
                json!({"messageId": id, "status": "unknown", "errorMessage": null})
            ),
            "{prefix}"
        );
        let (code, answer) =
            call(&app, Method::DELETE, url(&format!("/messaging/{id}")), host).await;
        assert_eq!(
            (code, answer["code"].as_u64()),
            (400, Some(5040)),
            "{answer}"
        );
        let poll = url(&format!("/messaging/news/{subscription}"));
        let (code, answer) = call(&app, Method::GET, poll, host).await;
        assert_eq!(
            (code, answer["code"].as_u64()),
            (404, Some(9020)),
            "{answer}"
        );
        // A subscription of its own hears only its own app's messages.
        let (code, answer) = call(&app, Method::POST, url("/messaging/news/subscribe"), host).await;
        assert_eq!(code, 200, "{answer}");
        let own = answer["subscriptionId"].as_str().expect("subscriptionId");
        // Once the first app's subscription has it, a leak would have reached this one too.
        app.client
            .publish_ok("news", json!({"message": "theirs"}))
            .await;
        let theirs = poll_until(
            &app.client,
            "news",
            &subscription,
            1,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        let (code, answer) = call(
            &app,
            Method::GET,
            url(&format!("/messaging/news/{own}")),
            host,
        )
        .await;
        assert_eq!((code, answer), (200, json!({"messages": []})));
    }
    // The first app still has both, untouched.
    assert_eq!(app.client.status(&id).await["status"], "scheduled");
    assert_eq!(
        app.client.poll_ok("news", &subscription).await,
        Vec::<Value>::new()
    );
    assert_eq!(app.client.cancel(&id).await.0, 200);
}

async fn a_forwarded_host_counts_only_from_a_trusted_proxy(backend: Backend) {
    for (trusted, expected) in [
        (vec![], (401, Some(9001))),
        (vec!["127.0.0.1/32"], (200, None)),
    ] {
        let mut config = test_config(backend, &fresh_prefix());
        config.apps[0].domains = vec!["trusted.example".into()];
        // A second app: with only one, the in-memory (development) mode would serve any host.
        config.apps.push(AppConfig::with_key(OTHER_ID, OTHER_KEY));
        config.http.trusted_proxies = trusted.iter().map(|net| net.parse().unwrap()).collect();
        let app = TestApp::spawn_with(Role::Standalone, config).await;
        let request = app
            .client
            .raw()
            .post(format!("{}/api/messaging/x", app.client.base))
            .header("X-Forwarded-Host", "trusted.example")
            .json(&json!({"message": "m"}));
        let (status, answer) = app.client.send(request).await;
        assert_eq!(
            (status, answer["code"].as_u64()),
            expected,
            "trusted {trusted:?}: {answer}"
        );
    }
}
