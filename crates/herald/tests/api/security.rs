//! Security over REST: user tokens, roles and channel permissions (docs/security.md).

use serde_json::json;

use crate::on_both_backends;
use crate::support::security::{bad_tokens, permission, secure, token};
use crate::support::{fresh_prefix, test_config, Backend, TestApp};
use herald::Role;
use herald_auth::AppRegistry;

on_both_backends!(
    a_publish_is_granted_or_refused_with_5007_by_the_channel_permissions,
    a_bad_user_token_is_refused_with_3064_saying_why,
    a_reloaded_grant_takes_effect_on_the_next_request,
    within_one_level_a_deny_beats_a_grant,
);

async fn secured(backend: Backend) -> TestApp {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    TestApp::spawn_with(Role::Standalone, config).await
}

async fn publish_as(
    app: &TestApp,
    channel: &str,
    user_token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = app
        .client
        .raw()
        .post(app.client.app_url(&format!("/messaging/{channel}")))
        .json(&json!({"message": "m"}));
    if let Some(t) = user_token {
        request = request.header("user-token", t);
    }
    app.client.send(request).await
}

async fn a_publish_is_granted_or_refused_with_5007_by_the_channel_permissions(backend: Backend) {
    let app = secured(backend).await;
    let editor = token("erin", &["editor"]);
    let viewer = token("victor", &["viewer"]);
    let mallory = token("mallory", &["editor"]);
    for (channel, who, allowed) in [
        ("news", None, true),
        ("orders.eu", Some(&editor), true),
        ("orders.eu", Some(&viewer), false),
        ("orders.eu", None, false),
        ("orders.eu", Some(&mallory), false),
        ("private", Some(&editor), false),
    ] {
        let (status, body) = publish_as(&app, channel, who.map(String::as_str)).await;
        if allowed {
            assert_eq!(status, 200, "{channel} {who:?}: {body}");
        } else {
            assert_eq!(
                (status, body["code"].as_u64()),
                (403, Some(5007)),
                "{channel} {who:?}: {body}"
            );
            assert_eq!(
                body["message"],
                "User does not have the permission to publish messages"
            );
        }
    }
}

async fn a_bad_user_token_is_refused_with_3064_saying_why(backend: Backend) {
    let app = secured(backend).await;
    for (why, bad) in bad_tokens() {
        let (status, body) = publish_as(&app, "news", Some(&bad)).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (401, Some(3064)),
            "{why}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
}

async fn a_reloaded_grant_takes_effect_on_the_next_request(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    let editor = token("erin", &["editor"]);
    assert_eq!(publish_as(&app, "private", Some(&editor)).await.0, 403);
    config.apps[0].permissions.push(permission(
        Some("private"),
        Some("editor"),
        None,
        &["publish"],
        &[],
    ));
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));
    let (status, body) = publish_as(&app, "private", Some(&editor)).await;
    assert_eq!(status, 200, "{body}");
}

async fn within_one_level_a_deny_beats_a_grant(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    // Both on the channel level: editors may publish to orders.*, interns may not.
    config.apps[0].permissions.push(permission(
        Some("orders.*"),
        Some("intern"),
        None,
        &[],
        &["publish"],
    ));
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let editor = token("erin", &["editor"]);
    let editor_and_intern = token("ian", &["editor", "intern"]);
    assert_eq!(publish_as(&app, "orders.eu", Some(&editor)).await.0, 200);
    let (status, body) = publish_as(&app, "orders.eu", Some(&editor_and_intern)).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(5007)), "{body}");
}
