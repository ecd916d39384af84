//! Security of the live transports (SSE and WebSocket): user tokens by header or query
//! parameter, Subscribe decided by the channel permissions when a subscription is made and again
//! on each reload, the WebSocket `Origin` check, and apps kept apart.

use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::live::{SseStream, WsClient};
use crate::support::security::{bad_tokens, permission, secure, token, SECRET};
use crate::support::{fresh_prefix, test_config, Backend, Client, TestApp};
use herald::config::Config;
use herald::Role;
use herald_auth::AppConfig;
use herald_auth::AppRegistry;
use secrecy::SecretString;

on_both_backends!(
    sse_subscribe_is_granted_or_refused_with_9040_by_the_channel_permissions,
    ws_subscribe_is_granted_or_refused_with_9040_by_the_channel_permissions,
    the_token_comes_by_header_or_by_query_parameter_and_delivers,
    a_bad_user_token_is_refused_with_3064_before_the_stream_or_the_upgrade,
    a_websocket_origin_the_app_does_not_accept_is_refused_with_9045,
    a_reload_that_revokes_the_grant_ends_the_sse_stream_and_the_ws_subscription,
    a_reload_that_invalidates_the_token_ends_the_live_connections_with_3064,
    a_reload_adding_a_grant_lets_a_new_subscription_in,
    two_apps_are_isolated_on_the_live_transports,
);

const WAIT: Duration = Duration::from_secs(10);

fn secured_config(backend: Backend) -> Config {
    let mut config = test_config(backend, &fresh_prefix());
    secure(&mut config);
    config
}

async fn secured(backend: Backend) -> TestApp {
    TestApp::spawn_with(Role::Standalone, secured_config(backend)).await
}

/// Where a test puts the user token.
#[derive(Debug, Clone, Copy)]
enum Via {
    Header,
    Query,
}

/// Opens an SSE subscription to `channel` as `user_token`'s user.
async fn sse_as(
    client: &Client,
    channel: &str,
    user_token: Option<&str>,
    via: Via,
) -> Result<SseStream, (u16, Value)> {
    let mut url = reqwest::Url::parse(&client.app_url(&format!("/messaging/{channel}/sse")))
        .expect("a valid url");
    let mut request = client.raw().get(url.clone());
    match (user_token, via) {
        (None, _) => {}
        (Some(t), Via::Header) => request = request.header("user-token", t),
        (Some(t), Via::Query) => {
            url.query_pairs_mut().append_pair("user-token", t);
            request = client.raw().get(url);
        }
    }
    SseStream::try_open(request).await
}

/// Opens a WebSocket as `user_token`'s user, with `origin` if given.
async fn ws_as(
    client: &Client,
    user_token: Option<&str>,
    via: Via,
    origin: Option<&str>,
) -> Result<WsClient, (u16, Value)> {
    let mut headers = vec![];
    let mut query = String::new();
    match (user_token, via) {
        (None, _) => {}
        (Some(t), Via::Header) => headers.push(("user-token", t)),
        (Some(t), Via::Query) => query = format!("?user-token={t}"),
    }
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    WsClient::try_connect(client, &query, &headers).await
}

/// Publishes `message` to `channel` as an editor (who may publish to `orders.*` and `news`).
async fn publish_as_editor(client: &Client, channel: &str) -> String {
    let request = client
        .raw()
        .post(client.app_url(&format!("/messaging/{channel}")))
        .header("user-token", token("erin", &["editor"]))
        .json(&json!({"message": channel}));
    let (status, body) = client.send(request).await;
    assert_eq!(status, 200, "publish to {channel}: {body}");
    body["messageId"]
        .as_str()
        .expect("a message id")
        .to_string()
}

/// Publishes to `url` (any app's channel) with no token.
async fn publish_to(client: &Client, url: String) -> String {
    let request = client.raw().post(url).json(&json!({"message": "m"}));
    let (status, body) = client.send(request).await;
    assert_eq!(status, 200, "{body}");
    body["messageId"]
        .as_str()
        .expect("a message id")
        .to_string()
}

fn assert_refused(answer: (u16, Value), status: u16, code: u64, what: &str) {
    let (got, body) = answer;
    assert_eq!(
        (got, body["code"].as_u64()),
        (status, Some(code)),
        "{what}: {body}"
    );
    assert!(body["message"].is_string(), "{what}: {body}");
}

/// The docs' example: who may subscribe where.
fn subscribe_cases() -> Vec<(&'static str, Option<String>, bool)> {
    vec![
        ("news", None, true),
        ("orders.eu", Some(token("victor", &["viewer"])), true),
        ("orders.eu", Some(token("erin", &["editor"])), true),
        ("orders.eu", None, false),
        ("orders.eu", Some(token("mallory", &["viewer"])), false),
        ("private", Some(token("erin", &["editor"])), false),
    ]
}

async fn sse_subscribe_is_granted_or_refused_with_9040_by_the_channel_permissions(
    backend: Backend,
) {
    let app = secured(backend).await;
    for (channel, who, allowed) in subscribe_cases() {
        let opened = sse_as(&app.client, channel, who.as_deref(), Via::Header).await;
        match (opened, allowed) {
            (Ok(_), true) => {}
            (Err(refusal), false) => assert_refused(refusal, 403, 9040, channel),
            (Ok(_), false) => panic!("{channel} {who:?}: subscribed without the grant"),
            (Err(refusal), true) => panic!("{channel} {who:?}: refused {refusal:?}"),
        }
    }
}

async fn ws_subscribe_is_granted_or_refused_with_9040_by_the_channel_permissions(backend: Backend) {
    let app = secured(backend).await;
    for (channel, who, allowed) in subscribe_cases() {
        let mut ws = ws_as(&app.client, who.as_deref(), Via::Header, None)
            .await
            .expect("the upgrade");
        let answer = ws.subscribe("s1", channel, None).await;
        if allowed {
            assert_eq!(
                answer,
                json!({"type": "subscribed", "id": "s1"}),
                "{channel}"
            );
        } else {
            assert_eq!(
                (
                    answer["type"].as_str(),
                    answer["id"].as_str(),
                    answer["code"].as_u64()
                ),
                (Some("error"), Some("s1"), Some(9040)),
                "{channel} {who:?}: {answer}"
            );
        }
    }
}

async fn the_token_comes_by_header_or_by_query_parameter_and_delivers(backend: Backend) {
    let app = secured(backend).await;
    let viewer = token("victor", &["viewer"]);
    let mut streams = vec![];
    let mut sockets = vec![];
    for via in [Via::Header, Via::Query] {
        let stream = sse_as(&app.client, "orders.eu", Some(&viewer), via).await;
        streams.push(stream.unwrap_or_else(|e| panic!("SSE by {via:?}: {e:?}")));
        let mut ws = ws_as(&app.client, Some(&viewer), via, None)
            .await
            .unwrap_or_else(|e| panic!("WS by {via:?}: {e:?}"));
        assert_eq!(
            ws.subscribe("s1", "orders.eu", None).await["type"],
            "subscribed"
        );
        sockets.push(ws);
    }
    let id = publish_as_editor(&app.client, "orders.eu").await;
    for stream in &mut streams {
        assert_eq!(stream.messages(1, WAIT).await[0]["messageId"], id.as_str());
    }
    for ws in &mut sockets {
        assert_eq!(
            ws.messages(1, WAIT).await,
            vec![("s1".to_string(), id.clone())]
        );
    }
}

async fn a_bad_user_token_is_refused_with_3064_before_the_stream_or_the_upgrade(backend: Backend) {
    let app = secured(backend).await;
    for (why, bad) in bad_tokens() {
        for via in [Via::Header, Via::Query] {
            let what = format!("{why} by {via:?}");
            let sse = sse_as(&app.client, "news", Some(&bad), via).await;
            let refusal = sse.err().unwrap_or_else(|| panic!("SSE opened: {what}"));
            assert!(
                refusal.1["message"].as_str().unwrap().contains(why),
                "{what}"
            );
            assert_refused(refusal, 401, 3064, &what);
            let ws = ws_as(&app.client, Some(&bad), via, None).await;
            let refusal = ws.err().unwrap_or_else(|| panic!("WS upgraded: {what}"));
            assert_refused(refusal, 401, 3064, &what);
        }
    }
}

async fn a_websocket_origin_the_app_does_not_accept_is_refused_with_9045(backend: Backend) {
    let mut config = secured_config(backend);
    config.apps[0].cors_origins = vec!["https://app.example".into()];
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    for origin in [
        Some("https://app.example"),
        Some("https://APP.example/"),
        None,
    ] {
        let mut ws = ws_as(&app.client, None, Via::Header, origin)
            .await
            .unwrap_or_else(|e| panic!("{origin:?} refused: {e:?}"));
        assert_eq!(ws.subscribe("s1", "news", None).await["type"], "subscribed");
    }
    for origin in ["https://evil.example", "http://app.example", "null"] {
        let refusal = ws_as(&app.client, None, Via::Header, Some(origin)).await;
        assert_refused(refusal.err().expect("refused"), 403, 9045, origin);
    }
}

/// Reloads `app` with `config`'s apps, as SIGHUP does.
fn reload(app: &TestApp, config: &Config) {
    app.apps
        .replace(AppRegistry::build(&config.apps, false).expect("the new configuration builds"));
}

/// The `{code, message}` of the SSE stream's last event, and that the stream ends after it.
async fn sse_ends_with_error(stream: &mut SseStream) -> u64 {
    let event = stream.next_event(WAIT).await.expect("an error event");
    assert_eq!(event.event.as_deref(), Some("error"), "{event:?}");
    let body: Value = serde_json::from_str(&event.data).expect("JSON");
    assert!(body["message"].is_string(), "{body}");
    assert!(
        stream.ends(WAIT).await,
        "the stream ends after its error event"
    );
    body["code"].as_u64().expect("a code")
}

async fn a_reload_that_revokes_the_grant_ends_the_sse_stream_and_the_ws_subscription(
    backend: Backend,
) {
    let mut config = secured_config(backend);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    let viewer = token("victor", &["viewer"]);
    let mut sse = sse_as(&app.client, "orders.eu", Some(&viewer), Via::Query)
        .await
        .expect("SSE");
    let mut ws = ws_as(&app.client, Some(&viewer), Via::Header, None)
        .await
        .expect("WS");
    assert_eq!(
        ws.subscribe("orders", "orders.eu", None).await["type"],
        "subscribed"
    );
    assert_eq!(
        ws.subscribe("news", "news", None).await["type"],
        "subscribed"
    );
    config.apps[0]
        .permissions
        .retain(|p| p.role.as_deref() != Some("viewer"));
    reload(&app, &config);
    assert_eq!(sse_ends_with_error(&mut sse).await, 9040);
    let error = ws.next_frame(WAIT).await.expect("an error frame");
    assert_eq!(
        (
            error["type"].as_str(),
            error["id"].as_str(),
            error["code"].as_u64()
        ),
        (Some("error"), Some("orders"), Some(9040)),
        "{error}"
    );
    // The connection stays, with its other subscription; the revoked one carries nothing.
    publish_as_editor(&app.client, "orders.eu").await;
    let news = publish_as_editor(&app.client, "news").await;
    assert_eq!(ws.messages(1, WAIT).await, vec![("news".to_string(), news)]);
}

async fn a_reload_that_invalidates_the_token_ends_the_live_connections_with_3064(backend: Backend) {
    let mut config = secured_config(backend);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    let user = token("ursula", &[]);
    let mut sse = sse_as(&app.client, "news", Some(&user), Via::Header)
        .await
        .expect("SSE");
    let mut ws = ws_as(&app.client, Some(&user), Via::Query, None)
        .await
        .expect("WS");
    assert_eq!(ws.subscribe("s1", "news", None).await["type"], "subscribed");
    // The secret rotated away: the connections' token no longer verifies.
    config.apps[0].tokens.secrets = vec![SecretString::from(format!("{SECRET}-rotated"))];
    reload(&app, &config);
    assert_eq!(sse_ends_with_error(&mut sse).await, 3064);
    let (last, close) = ws.last_words(WAIT).await;
    let last = last.expect("an error frame");
    assert_eq!(
        (last["id"].clone(), last["code"].as_u64()),
        (Value::Null, Some(3064)),
        "{last}"
    );
    assert_eq!(close.map(|(code, _)| code), Some(1008));
}

async fn a_reload_adding_a_grant_lets_a_new_subscription_in(backend: Backend) {
    let mut config = secured_config(backend);
    let app = TestApp::spawn_with(Role::Standalone, config.clone()).await;
    let editor = token("erin", &["editor"]);
    let refused = sse_as(&app.client, "private", Some(&editor), Via::Header).await;
    assert_refused(refused.err().expect("refused"), 403, 9040, "before");
    let mut ws = ws_as(&app.client, Some(&editor), Via::Header, None)
        .await
        .expect("WS");
    assert_eq!(ws.subscribe("s1", "private", None).await["code"], 9040);
    config.apps[0].permissions.push(permission(
        Some("private"),
        Some("editor"),
        None,
        &["subscribe", "publish"],
        &[],
    ));
    reload(&app, &config);
    let mut sse = sse_as(&app.client, "private", Some(&editor), Via::Header)
        .await
        .expect("SSE after the grant");
    // The same connection, decided again under the new grant.
    assert_eq!(
        ws.subscribe("s2", "private", None).await["type"],
        "subscribed"
    );
    let id = publish_as_editor(&app.client, "private").await;
    assert_eq!(sse.messages(1, WAIT).await[0]["messageId"], id.as_str());
    assert_eq!(ws.messages(1, WAIT).await, vec![("s2".to_string(), id)]);
}

async fn two_apps_are_isolated_on_the_live_transports(backend: Backend) {
    let mut config = test_config(backend, &fresh_prefix());
    config.apps.push(AppConfig::with_key("app-b", "key-b"));
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let base = &app.client.base;
    // B's key does not open A's channels.
    let crossed = app
        .client
        .raw()
        .get(format!("{base}/test-app/key-b/messaging/news/sse"));
    assert_refused(
        SseStream::try_open(crossed).await.err().expect("refused"),
        401,
        9002,
        "key",
    );
    let crossed_ws = format!("{base}/test-app/key-b/messaging/ws");
    let crossed = WsClient::try_connect_url(&crossed_ws, &[]).await;
    assert_refused(crossed.err().expect("refused"), 401, 9002, "WS key");
    let b_url = |path: &str| format!("{base}/app-b/key-b{path}");
    let mut b_ws = WsClient::try_connect_url(&b_url("/messaging/ws"), &[])
        .await
        .expect("B's WebSocket");
    assert_eq!(
        b_ws.subscribe("s1", "news", None).await["type"],
        "subscribed"
    );
    let b_sse = app.client.raw().get(b_url("/messaging/news/sse"));
    let mut b_stream = SseStream::try_open(b_sse).await.expect("B's stream");
    let mut a_stream = SseStream::open(&app.client, "news", None).await;
    let from_a = publish_to(&app.client, app.client.app_url("/messaging/news")).await;
    let from_b = publish_to(&app.client, b_url("/messaging/news")).await;
    assert_eq!(
        a_stream.messages(1, WAIT).await[0]["messageId"],
        from_a.as_str()
    );
    // A's message was published first: had it leaked to B, it would be B's first.
    assert_eq!(
        b_stream.messages(1, WAIT).await[0]["messageId"],
        from_b.as_str()
    );
}
