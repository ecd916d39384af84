//! Security of the REST routes after publish: a message's status and its cancel are permitted by
//! the channel it was published to, polling by the subscribe permission at every poll, and an app
//! may make a publish's publisherId its user's id.

use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::security::{permission, secure, token};
use crate::support::{fresh_prefix, now_ms, poll_until, test_config, Backend, TestApp};
use herald::Role;
use herald_auth::AppRegistry;

on_both_backends!(
    status_and_cancel_are_permitted_by_the_messages_channel,
    an_unknown_message_answers_as_before_whoever_asks,
    polling_needs_the_subscribe_permission_at_every_poll,
    the_publisher_id_is_the_user_when_the_app_says_so,
    the_publisher_id_is_the_bodys_by_default,
);

/// `method` on `path` (under `/<app>/<key>`) as the holder of `user_token`, with `body`.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    user_token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.raw().request(method, app.client.app_url(path));
    if let Some(t) = user_token {
        request = request.header("user-token", t);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.client.send(request).await
}

/// Publishes a message due in ten minutes (so it stays cancellable) as `user_token`.
async fn deferred(app: &TestApp, channel: &str, user_token: Option<&str>) -> String {
    let body = json!({"message": "m", "publishAt": now_ms() + 600_000});
    let path = format!("/messaging/{channel}");
    let (status, answer) = call(app, Method::POST, &path, user_token, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer["messageId"].as_str().expect("messageId").to_string()
}

fn assert_refused(answer: (u16, Value), code: u64, what: &str) {
    assert_eq!(
        (answer.0, answer.1["code"].as_u64()),
        (403, Some(code)),
        "{what}: {}",
        answer.1
    );
}

async fn secured(backend: Backend) -> TestApp {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    TestApp::spawn_with(Role::Standalone, config).await
}

async fn status_and_cancel_are_permitted_by_the_messages_channel(backend: Backend) {
    let app = secured(backend).await;
    let editor = token("erin", &["editor"]);
    let viewer = token("victor", &["viewer"]);
    let mallory = token("mallory", &["editor"]);
    let order = deferred(&app, "orders.eu", Some(&editor)).await;
    let path = format!("/messaging/{order}");
    // Editors may read and cancel on orders.*; viewers, anonymous callers and mallory may not.
    for (who, t) in [
        ("viewer", Some(&viewer)),
        ("anonymous", None),
        ("mallory", Some(&mallory)),
    ] {
        let t = t.map(String::as_str);
        let status = call(&app, Method::GET, &path, t, None).await;
        assert_refused(status.clone(), 9043, who);
        assert_eq!(
            status.1["message"],
            "User does not have the permission to read message statuses of channel orders.eu"
        );
        assert_refused(call(&app, Method::DELETE, &path, t, None).await, 9044, who);
    }
    let (status, answer) = call(&app, Method::GET, &path, Some(&editor), None).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("scheduled")),
        "{answer}"
    );
    let (status, answer) = call(&app, Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("cancelled")),
        "{answer}"
    );
    // A channel open to everyone: its messages' statuses and cancels are everyone's.
    let news = deferred(&app, "news", None).await;
    let path = format!("/messaging/{news}");
    let (status, answer) = call(&app, Method::GET, &path, None, None).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("scheduled")),
        "{answer}"
    );
    let (status, answer) = call(&app, Method::DELETE, &path, None, None).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("cancelled")),
        "{answer}"
    );
}

async fn an_unknown_message_answers_as_before_whoever_asks(backend: Backend) {
    let app = secured(backend).await;
    let viewer = token("victor", &["viewer"]);
    for id in ["message:37C81F70-9B7B-4CF8-FF24-3690D9054F00", "garbage"] {
        for t in [None, Some(viewer.as_str())] {
            let path = format!("/messaging/{id}");
            let (status, answer) = call(&app, Method::GET, &path, t, None).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(
                answer,
                json!({"messageId": id, "status": "unknown", "errorMessage": null})
            );
            let (status, answer) = call(&app, Method::DELETE, &path, t, None).await;
            assert_eq!(
                (status, answer["code"].as_u64()),
                (400, Some(5040)),
                "{answer}"
            );
        }
    }
}

async fn polling_needs_the_subscribe_permission_at_every_poll(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    let viewer = token("victor", &["viewer"]);
    let mallory = token("mallory", &["viewer"]);
    let subscribe = "/messaging/orders.eu/subscribe";
    for (who, t) in [("anonymous", None), ("mallory", Some(&mallory))] {
        let answer = call(&app, Method::POST, subscribe, t.map(String::as_str), None).await;
        assert_refused(answer, 9040, who);
    }
    let (status, answer) = call(&app, Method::POST, subscribe, Some(&viewer), None).await;
    assert_eq!(status, 200, "{answer}");
    let poll = format!(
        "/messaging/orders.eu/{}",
        answer["subscriptionId"].as_str().expect("subscriptionId")
    );
    let (status, answer) = call(&app, Method::GET, &poll, Some(&viewer), None).await;
    assert_eq!((status, answer), (200, json!({"messages": []})));
    // Knowing the subscription id is not enough: the poller's own permission decides.
    for (who, t) in [("anonymous", None), ("mallory", Some(&mallory))] {
        let answer = call(&app, Method::GET, &poll, t.map(String::as_str), None).await;
        assert_refused(answer, 9040, who);
    }
    // A reload that denies viewers decides the very next poll of the same subscription.
    config.apps[0].permissions.push(permission(
        Some("orders.eu"),
        Some("viewer"),
        None,
        &[],
        &["subscribe"],
    ));
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));
    let answer = call(&app, Method::GET, &poll, Some(&viewer), None).await;
    assert_refused(answer, 9040, "viewer after the reload");
}

/// Publishes `body` to `news` as `user_token` and returns the answer.
async fn publish_news(app: &TestApp, user_token: Option<&str>, body: Value) -> (u16, Value) {
    call(app, Method::POST, "/messaging/news", user_token, Some(body)).await
}

/// The publisherIds of what `subscription` receives, once `count` messages arrived, in the order
/// of their (numeric) messages.
async fn publisher_ids(app: &TestApp, subscription: &str, count: usize) -> Vec<Value> {
    let received = poll_until(
        &app.client,
        "news",
        subscription,
        count,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(received.len(), count, "{received:?}");
    let mut by_message: Vec<(u64, Value)> = received
        .iter()
        .map(|m| (m["data"].as_u64().unwrap_or(0), m["publisherId"].clone()))
        .collect();
    by_message.sort_by_key(|(n, _)| *n);
    by_message.into_iter().map(|(_, id)| id).collect()
}

async fn the_publisher_id_is_the_user_when_the_app_says_so(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    config.apps[0].publisher_id_is_user = true;
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let erin = token("erin", &[]);
    let subscription = app.client.subscribe("news").await;
    for (t, body) in [
        (Some(&erin), json!({"message": 1})),
        (Some(&erin), json!({"message": 2, "publisherId": "erin"})),
        (None, json!({"message": 3})),
        (None, json!({"message": 4, "publisherId": null})),
    ] {
        let (status, answer) = publish_news(&app, t.map(String::as_str), body).await;
        assert_eq!(status, 200, "{answer}");
    }
    for (t, body) in [
        (
            Some(&erin),
            json!({"message": 5, "publisherId": "someone-else"}),
        ),
        (None, json!({"message": 6, "publisherId": "erin"})),
    ] {
        let answer = publish_news(&app, t.map(String::as_str), body).await;
        assert_refused(answer, 9046, "a publisherId that is not the user");
    }
    assert_eq!(
        publisher_ids(&app, &subscription, 4).await,
        [json!("erin"), json!("erin"), Value::Null, Value::Null]
    );
}

async fn the_publisher_id_is_the_bodys_by_default(backend: Backend) {
    let app = secured(backend).await;
    let erin = token("erin", &[]);
    let subscription = app.client.subscribe("news").await;
    let body = json!({"message": 1, "publisherId": "pub-1"});
    let (status, answer) = publish_news(&app, Some(&erin), body).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = publish_news(&app, Some(&erin), json!({"message": 2})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        publisher_ids(&app, &subscription, 2).await,
        [json!("pub-1"), Value::Null]
    );
}
