//! Cancel: 5040 for published and unknown messages; a deferred message is cancelled once.

use serde_json::json;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{now_ms, wait_for_status, Backend, TestApp};

on_both_backends!(
    cancel_of_a_published_message_returns_5040,
    cancel_of_an_unknown_message_returns_5040,
    cancel_of_a_delayed_message_cancels_it_once,
);

async fn assert_5040(app: &TestApp, id: &str) {
    let (status, answer) = app.client.cancel(id).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"code": 5040, "message": "Message has already been canceled or does not exist."})
    );
}

async fn cancel_of_a_published_message_returns_5040(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.client.publish_ok("news", json!({"message": 1})).await;
    wait_for_status(&app.client, &id, "published", Duration::from_secs(2)).await;
    assert_5040(&app, &id).await;
    assert_eq!(app.client.status(&id).await["status"], "published");
}

async fn cancel_of_an_unknown_message_returns_5040(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_5040(&app, "message:37C81F70-9B7B-4CF8-FF24-3690D9054F00").await;
    assert_5040(&app, "garbage").await;
}

async fn cancel_of_a_delayed_message_cancels_it_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .client
        .publish_ok(
            "news",
            json!({"message": 1, "publishAt": now_ms() + 600_000}),
        )
        .await;
    let (status, answer) = app.client.cancel(&id).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"status": "cancelled", "messageId": id}));
    assert_eq!(app.client.status(&id).await["status"], "cancelled");
    assert_5040(&app, &id).await;
}
