//! Security over the realtime protocol (docs/security.md): the handshake's user token, every
//! subscription and method granted or refused by the channel permissions when it is made,
//! `SET_USER_TOKEN` and reloads deciding the live subscriptions again, user ids in presence and
//! commands, and apps added by a reload served apart from the others.

use herald::config::Config;
use herald::Role;
use herald_auth::{AppConfig, AppRegistry};
use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::realtime::{Connected, RtClient};
use crate::support::security::{bad_tokens, permission, secure, token};
use crate::support::{fresh_prefix, test_config, Backend, TestApp, API_KEY, APP_ID};

on_both_backends!(
    each_realtime_operation_is_granted_or_refused_by_the_channel_permissions,
    a_bad_user_token_is_refused_at_the_handshake_and_by_set_user_token,
    set_user_token_grants_a_subscription_then_revoking_it_ends_the_subscription,
    presence_and_commands_carry_the_users_id,
    a_reload_ends_a_revoked_subscription_and_lets_a_newly_granted_one_in,
    an_app_added_by_a_reload_is_served_apart_from_the_others,
    a_connection_whose_key_a_reload_revokes_is_disconnected,
);

const WAIT: Duration = Duration::from_secs(10);

async fn secured(backend: Backend) -> (TestApp, Config) {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    (app, config)
}

/// A connection to the test app, logged in with `user_token` if given.
async fn rt_as(app: &TestApp, user_token: Option<&str>) -> RtClient {
    let address = app.realtime_address.expect("standalone serves realtime");
    match RtClient::connect_as(address, APP_ID, API_KEY, user_token).await {
        Connected::Yes(client) => *client,
        Connected::Refused(reason) => panic!("refused: {reason}"),
    }
}

/// `SUB_ON` that must be granted; consumes a join's "connected" and a presence listing.
async fn granted(rt: &mut RtClient, id: &str, name: &str, channel: &str) {
    let (event, ready) = rt.sub_on(id, name, json!({"channel": channel})).await;
    assert_eq!(
        (event.as_str(), &ready),
        ("SUB_READY", &json!({"id": id})),
        "{name} {channel}"
    );
    if matches!(name, "PUB_SUB_CONNECT" | "PUB_SUB_USERS") {
        let (event, first) = rt.next_event(WAIT).await;
        assert_eq!((event.as_str(), &first["id"]), ("SUB_RES", &json!(id)));
    }
}

/// `SUB_ON` that must be refused with `code`.
async fn refused(rt: &mut RtClient, id: &str, name: &str, channel: &str, code: u32) {
    let (event, failure) = rt.sub_on(id, name, json!({"channel": channel})).await;
    assert_eq!(event, "SUB_RES", "{name} {channel}: {failure}");
    assert_error(&failure, id, code);
}

fn assert_error(failure: &Value, id: &str, code: u32) {
    assert_eq!(failure["id"], id, "{failure}");
    assert_eq!(failure["error"]["code"], code, "{failure}");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("permission"), "{failure}");
}

/// `PUB_SUB_COMMAND` on `channel`; the method's answer.
async fn command(rt: &mut RtClient, channel: &str) -> Value {
    rt.emit(
        "MET_REQ",
        json!({"id": "cmd", "name": "PUB_SUB_COMMAND", "options": {"channel": channel, "type": "t", "data": 1}}),
    )
    .await;
    loop {
        let (event, payload) = rt.next_event(WAIT).await;
        if event == "MET_RES" {
            return payload;
        }
    }
}

/// Publishes over REST with `user_token`; the message id.
async fn publish_as(app: &TestApp, channel: &str, user_token: &str) -> String {
    let request = app
        .client
        .raw()
        .post(app.client.app_url(&format!("/messaging/{channel}")))
        .header("user-token", user_token)
        .json(&json!({"message": channel}));
    let (status, body) = app.client.send(request).await;
    assert_eq!(status, 200, "{body}");
    body["messageId"].as_str().unwrap().to_string()
}

/// The next delivery of `rt` must be `message` to `id`: nothing else came before it.
async fn next_delivery_is(rt: &mut RtClient, id: &str, message: &str) {
    let (event, delivery) = rt.next_event(WAIT).await;
    assert_eq!(event, "SUB_RES", "{delivery}");
    assert_eq!(delivery["id"], id, "{delivery}");
    assert_eq!(delivery["data"]["messageId"], message, "{delivery}");
}

async fn each_realtime_operation_is_granted_or_refused_by_the_channel_permissions(
    backend: Backend,
) {
    let (app, _) = secured(backend).await;
    let mut anonymous = rt_as(&app, None).await;
    refused(&mut anonymous, "a1", "PUB_SUB_CONNECT", "private", 9040).await;
    refused(&mut anonymous, "a2", "PUB_SUB_MESSAGES", "orders.eu", 9040).await;
    refused(&mut anonymous, "a3", "PUB_SUB_COMMANDS", "private", 9041).await;
    refused(&mut anonymous, "a4", "PUB_SUB_USERS", "private", 9042).await;
    let answer = command(&mut anonymous, "private").await;
    assert_eq!(answer["error"]["code"], 9041, "{answer}");
    granted(&mut anonymous, "n", "PUB_SUB_MESSAGES", "news").await;

    let viewer_token = token("victor", &["viewer"]);
    let mut viewer = rt_as(&app, Some(&viewer_token)).await;
    granted(&mut viewer, "v1", "PUB_SUB_CONNECT", "orders.eu").await;
    granted(&mut viewer, "v2", "PUB_SUB_MESSAGES", "orders.eu").await;
    granted(&mut viewer, "v3", "PUB_SUB_COMMANDS", "private").await;
    granted(&mut viewer, "v4", "PUB_SUB_USERS", "private").await;
    refused(&mut viewer, "v5", "PUB_SUB_MESSAGES", "private", 9040).await;

    // Mallory is denied everything on orders.*, and is a logged-in user elsewhere: she may send
    // commands, which the viewer's granted listener hears.
    let mallory = token("mallory", &["viewer"]);
    let mut denied = rt_as(&app, Some(&mallory)).await;
    refused(&mut denied, "m", "PUB_SUB_MESSAGES", "orders.eu", 9040).await;
    let answer = command(&mut denied, "private").await;
    assert_eq!(answer, json!({"id": "cmd", "result": null}));
    let (_, heard) = viewer.next_event(WAIT).await;
    assert_eq!(
        (&heard["id"], &heard["data"]["userId"]),
        (&json!("v3"), &json!("mallory"))
    );

    // The refused listener of orders.eu got nothing: the news published after the order is the
    // anonymous connection's next delivery, once the viewer has the order.
    let editor = token("erin", &["editor"]);
    let order = publish_as(&app, "orders.eu", &editor).await;
    next_delivery_is(&mut viewer, "v2", &order).await;
    let news = publish_as(&app, "news", &editor).await;
    next_delivery_is(&mut anonymous, "n", &news).await;
}

async fn a_bad_user_token_is_refused_at_the_handshake_and_by_set_user_token(backend: Backend) {
    let (app, _) = secured(backend).await;
    let address = app.realtime_address.unwrap();
    for (why, bad) in bad_tokens() {
        match RtClient::connect_as(address, APP_ID, API_KEY, Some(&bad)).await {
            Connected::Refused(reason) => {
                assert_eq!(reason["code"], 3064, "{why}: {reason}");
                assert_eq!(reason["data"]["code"], 3064, "socket.io-client's err.data");
                let message = reason["message"].as_str().unwrap_or_default();
                assert!(message.contains(why), "{why}: {reason}");
            }
            Connected::Yes(_) => panic!("a token {why} was accepted"),
        }
    }

    let viewer = token("victor", &["viewer"]);
    let mut rt = rt_as(&app, Some(&viewer)).await;
    for (why, bad) in bad_tokens() {
        let (_, answer) = rt.set_user_token(Some(&bad)).await;
        assert_eq!(answer["error"]["code"], 3064, "{why}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{why}: {answer}");
    }
    // The identity is still the viewer's.
    granted(&mut rt, "o", "PUB_SUB_MESSAGES", "orders.eu").await;
}

async fn set_user_token_grants_a_subscription_then_revoking_it_ends_the_subscription(
    backend: Backend,
) {
    let (app, _) = secured(backend).await;
    let mut rt = rt_as(&app, None).await;
    granted(&mut rt, "n", "PUB_SUB_MESSAGES", "news").await;
    refused(&mut rt, "early", "PUB_SUB_MESSAGES", "orders.eu", 9040).await;

    let viewer = token("victor", &["viewer"]);
    let (before, answer) = rt.set_user_token(Some(&viewer)).await;
    assert_eq!(
        (before, answer),
        (vec![], json!({"id": "tok", "result": null}))
    );
    granted(&mut rt, "o", "PUB_SUB_MESSAGES", "orders.eu").await;
    let editor = token("erin", &["editor"]);
    let order = publish_as(&app, "orders.eu", &editor).await;
    next_delivery_is(&mut rt, "o", &order).await;

    // Logged out: the orders subscription ends, before the call is answered; the news one stays.
    let (before, answer) = rt.set_user_token(None).await;
    assert_eq!(answer, json!({"id": "tok", "result": null}));
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, "SUB_RES");
    assert_error(&before[0].1, "o", 9040);
    publish_as(&app, "orders.eu", &editor).await;
    let news = publish_as(&app, "news", &editor).await;
    next_delivery_is(&mut rt, "n", &news).await;
}

async fn presence_and_commands_carry_the_users_id(backend: Backend) {
    let (app, _) = secured(backend).await;
    let erin = token("erin", &["editor"]);
    let mut watcher = rt_as(&app, Some(&erin)).await;
    granted(&mut watcher, "cmds", "PUB_SUB_COMMANDS", "news").await;
    granted(&mut watcher, "users", "PUB_SUB_USERS", "news").await;

    let mut visitor = rt_as(&app, None).await;
    granted(&mut visitor, "v", "PUB_SUB_CONNECT", "news").await;
    let sid = visitor.sid.clone();
    let member = |status: &str, user: Value| json!({"id": "users", "data": {"status": status, "data": [{"connectionId": sid, "userId": user}]}});
    assert_eq!(
        watcher.next_event(WAIT).await.1,
        member("CONNECTED", Value::Null)
    );
    let victor = token("victor", &["viewer"]);
    visitor.set_user_token(Some(&victor)).await;
    assert_eq!(
        watcher.next_event(WAIT).await.1,
        member("USERUPDATE", json!("victor"))
    );
    // A listener that comes now finds the member under its user id.
    let (event, _) = watcher
        .sub_on("later", "PUB_SUB_USERS", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");
    let (_, listing) = watcher.next_event(WAIT).await;
    assert_eq!(
        listing,
        json!({"id": "later", "data": {"status": "LISTING", "data": [{"connectionId": sid, "userId": "victor"}]}})
    );

    let answer = command(&mut visitor, "news").await;
    assert_eq!(answer, json!({"id": "cmd", "result": null}));
    let (_, delivery) = watcher.next_event(WAIT).await;
    assert_eq!(delivery["id"], "cmds", "{delivery}");
    let data = &delivery["data"];
    assert_eq!(
        (&data["userId"], &data["connectionId"]),
        (&json!("victor"), &json!(sid))
    );
    assert_eq!(
        data["userInfo"],
        json!({"connectionId": sid, "userId": "victor"})
    );

    visitor.close().await;
    assert_eq!(
        watcher.next_event(WAIT).await.1,
        member("DISCONNECTED", json!("victor"))
    );
}

async fn a_reload_ends_a_revoked_subscription_and_lets_a_newly_granted_one_in(backend: Backend) {
    let (app, mut config) = secured(backend).await;
    let viewer = token("victor", &["viewer"]);
    let mut rt = rt_as(&app, Some(&viewer)).await;
    granted(&mut rt, "n", "PUB_SUB_MESSAGES", "news").await;
    granted(&mut rt, "o", "PUB_SUB_MESSAGES", "orders.eu").await;
    refused(&mut rt, "early", "PUB_SUB_MESSAGES", "private", 9040).await;

    let permissions = &mut config.apps[0].permissions;
    permissions.retain(|p| p.role.as_deref() != Some("viewer"));
    permissions.push(permission(
        Some("private"),
        Some("viewer"),
        None,
        &["subscribe"],
        &[],
    ));
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));

    let (event, failure) = rt.next_event(WAIT).await;
    assert_eq!(event, "SUB_RES", "{failure}");
    assert_error(&failure, "o", 9040);
    granted(&mut rt, "p", "PUB_SUB_MESSAGES", "private").await;
    let editor = token("erin", &["editor"]);
    publish_as(&app, "orders.eu", &editor).await;
    let news = publish_as(&app, "news", &editor).await;
    next_delivery_is(&mut rt, "n", &news).await;
}

async fn an_app_added_by_a_reload_is_served_apart_from_the_others(backend: Backend) {
    let (app, mut config) = secured(backend).await;
    let address = app.realtime_address.unwrap();
    let mut ours = rt_as(&app, None).await;
    granted(&mut ours, "n", "PUB_SUB_MESSAGES", "news").await;

    config
        .apps
        .push(AppConfig::with_key("other-app", "other-key"));
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));
    // The reload reaches the realtime server a moment after: until then the path is no app's.
    let until = tokio::time::Instant::now() + WAIT;
    let mut theirs = loop {
        if let Some(client) = RtClient::try_connect(address, "other-app", "other-key").await {
            break client;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the added app is never served"
        );
        // A short pause between tries, not a wait for the effect: the deadline bounds the test.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (event, _) = theirs
        .sub_on("t", "PUB_SUB_MESSAGES", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");

    // Each app's key is refused by the other.
    for (app_id, key) in [(APP_ID, "other-key"), ("other-app", API_KEY)] {
        match RtClient::connect(address, app_id, key).await {
            Connected::Refused(reason) => assert_eq!(reason["code"], 9002, "{reason}"),
            Connected::Yes(_) => panic!("{app_id} accepted another app's key"),
        }
    }

    // A message of the other app reaches its listener only.
    let url = format!("http://{}/other-app/other-key/messaging/news", app.address);
    let request = app
        .client
        .raw()
        .post(url)
        .json(&json!({"message": "theirs"}));
    let (status, body) = app.client.send(request).await;
    assert_eq!(status, 200, "{body}");
    next_delivery_is(&mut theirs, "t", body["messageId"].as_str().unwrap()).await;
    let news = publish_as(&app, "news", &token("erin", &["editor"])).await;
    next_delivery_is(&mut ours, "n", &news).await;
}

async fn a_connection_whose_key_a_reload_revokes_is_disconnected(backend: Backend) {
    let (app, mut config) = secured(backend).await;
    let rt = rt_as(&app, None).await;
    config.apps[0] = AppConfig::with_key(APP_ID, "a-new-key");
    secure(&mut config);
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));
    rt.disconnected_by_server(WAIT).await;
    let address = app.realtime_address.unwrap();
    match RtClient::connect(address, APP_ID, API_KEY).await {
        Connected::Refused(reason) => assert_eq!(reason["code"], 9002, "{reason}"),
        Connected::Yes(_) => panic!("the revoked key was accepted"),
    }
}
