//! Publishing: the answer, the id, the status lifecycle and the time rules.

use serde_json::json;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{now_ms, wait_for_status, Backend, TestApp};

on_both_backends!(
    publish_answers_scheduled_with_a_backendless_message_id,
    status_goes_from_scheduled_to_published,
    unknown_message_ids_have_status_unknown,
    publish_at_within_skew_tolerance_is_published_now,
    delayed_and_repeating_messages_are_accepted_and_stay_scheduled,
    both_url_forms_serve_the_api,
);

async fn publish_answers_scheduled_with_a_backendless_message_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, answer) = app
        .client
        .publish("news", json!({"message": "hello"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "scheduled");
    assert_eq!(answer["errorMessage"], serde_json::Value::Null);
    let id = answer["messageId"].as_str().unwrap();
    let uuid = id.strip_prefix("message:").expect("message: prefix");
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid, uuid.to_uppercase());
    assert!(uuid::Uuid::parse_str(uuid).is_ok());
    assert_eq!(answer.as_object().unwrap().len(), 3, "{answer}");
}

async fn status_goes_from_scheduled_to_published(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .client
        .publish_ok("news", json!({"message": {"n": 1}, "publisherId": "p"}))
        .await;
    let first = app.client.status(&id).await;
    assert!(
        ["scheduled", "published"].contains(&first["status"].as_str().unwrap()),
        "{first}"
    );
    assert_eq!(first["messageId"], id);
    wait_for_status(&app.client, &id, "published", Duration::from_secs(1)).await;
    let last = app.client.status(&id).await;
    assert_eq!(
        last,
        json!({"messageId": id, "status": "published", "errorMessage": null})
    );
}

async fn unknown_message_ids_have_status_unknown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in ["message:37C81F70-9B7B-4CF8-FF24-3690D9054F00", "not-an-id"] {
        let answer = app.client.status(id).await;
        assert_eq!(
            answer,
            json!({"messageId": id, "status": "unknown", "errorMessage": null})
        );
    }
}

async fn publish_at_within_skew_tolerance_is_published_now(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .client
        .publish_ok("news", json!({"message": 1, "publishAt": now_ms() - 4_000}))
        .await;
    wait_for_status(&app.client, &id, "published", Duration::from_secs(2)).await;
}

async fn delayed_and_repeating_messages_are_accepted_and_stay_scheduled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let later = now_ms() + 3_600_000;
    let delayed = app
        .client
        .publish_ok("news", json!({"message": 1, "publishAt": later}))
        .await;
    let repeating = app
        .client
        .publish_ok(
            "news",
            json!({"message": 2, "repeatEvery": 5, "repeatExpiresAt": later}),
        )
        .await;
    let forever = app
        .client
        .publish_ok(
            "news",
            json!({"message": 3, "publishAt": later, "repeatEvery": 1}),
        )
        .await;
    // An immediate message published after them is delivered: the deferred ones did not block it.
    let now = app.client.publish_ok("news", json!({"message": 4})).await;
    wait_for_status(&app.client, &now, "published", Duration::from_secs(2)).await;
    for id in [delayed, repeating, forever] {
        assert_eq!(app.client.status(&id).await["status"], "scheduled");
    }
}

async fn both_url_forms_serve_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = app.client.raw();
    let base = &app.client.base;
    let (status, answer) = app
        .client
        .send(
            http.post(format!("{base}/api/messaging/news"))
                .json(&json!({"message": "via /api"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["messageId"].as_str().unwrap();
    let (status, via_api) = app
        .client
        .send(http.get(format!("{base}/api/messaging/{id}")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(via_api["messageId"], id);
    let (status, info) = app.client.send(http.get(app.client.app_url("/info"))).await;
    assert_eq!(status, 200);
    assert_eq!(info["appId"], crate::support::APP_ID);
    assert_eq!(info["apiKey"], crate::support::API_KEY);
    let realtime = app.realtime_address.expect("standalone serves realtime");
    assert_eq!(info["rtURL"], format!("http://{realtime}"));
    let (status, lookup) = app
        .client
        .send(http.get(format!("{base}/api/rt/lookup")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(lookup, info["rtURL"]);
}
