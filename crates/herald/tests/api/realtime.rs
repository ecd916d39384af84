//! The Backendless realtime protocol (socket.io) as the official SDKs speak it: the handshake's
//! API key, `PUB_SUB_CONNECT`, and `PUB_SUB_MESSAGES` with and without a selector delivering
//! exactly the matching messages in the SDK's delivered shape.

use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::realtime::{Connected, RtClient};
use crate::support::{publish_selector_set, Backend, TestApp, API_KEY, APP_ID};

on_both_backends!(
    a_wrong_api_key_is_refused_at_connect,
    subscribers_receive_exactly_the_matching_messages_in_the_sdk_shape,
    an_invalid_selector_fails_the_subscription_with_its_error,
    commands_reach_the_channels_command_listeners_and_not_its_message_listeners,
    a_connection_that_leaves_a_channel_hears_nothing_until_it_joins_again,
);

const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn connected(app: &TestApp) -> RtClient {
    let address = app.realtime_address.expect("standalone serves realtime");
    match RtClient::connect(address, APP_ID, API_KEY).await {
        Connected::Yes(client) => *client,
        Connected::Refused(reason) => panic!("refused: {reason}"),
    }
}

async fn a_wrong_api_key_is_refused_at_connect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = app.realtime_address.unwrap();
    match RtClient::connect(address, APP_ID, "wrong-key").await {
        Connected::Refused(reason) => {
            assert_eq!(reason["code"], 9002, "{reason}");
            let message = reason["message"].as_str().unwrap_or_default();
            assert!(message.contains("API key is not valid"), "{reason}");
        }
        Connected::Yes(_) => panic!("a wrong API key was accepted"),
    }
}

async fn subscribers_receive_exactly_the_matching_messages_in_the_sdk_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut rt = connected(&app).await;
    let (event, ready) = rt
        .sub_on("c1", "PUB_SUB_CONNECT", json!({"channel": "news"}))
        .await;
    assert_eq!((event.as_str(), ready), ("SUB_READY", json!({"id": "c1"})));
    let (event, connected) = rt.next_event(WAIT).await;
    assert_eq!(
        (event.as_str(), connected),
        ("SUB_RES", json!({"id": "c1", "data": "connected"}))
    );
    for (id, options) in [
        ("all", json!({"channel": "news"})),
        ("big", json!({"channel": "news", "selector": "foo > 10"})),
    ] {
        let (event, ready) = rt.sub_on(id, "PUB_SUB_MESSAGES", options).await;
        assert_eq!((event.as_str(), ready), ("SUB_READY", json!({"id": id})));
    }

    let published = publish_selector_set(&app.client, "news").await;
    let mut received: Vec<(String, Value)> = Vec::new();
    while received.len() < 10 {
        let (event, payload) = rt.next_event(WAIT).await;
        assert_eq!(event, "SUB_RES", "{payload}");
        received.push((
            payload["id"].as_str().unwrap().to_string(),
            payload["data"].clone(),
        ));
    }
    let of = |id: &str| -> Vec<&str> {
        received
            .iter()
            .filter(|(sub, _)| sub == id)
            .map(|(_, data)| data["messageId"].as_str().unwrap())
            .collect()
    };
    assert_eq!(of("all"), published);
    assert_eq!(of("big"), vec![&published[0], &published[2], &published[6]]);

    let first = &received
        .iter()
        .find(|(id, _)| id == "all")
        .expect("a delivery")
        .1;
    let timestamp = first["timestamp"].as_i64().expect("timestamp is a number");
    assert!((timestamp - crate::support::now_ms()).abs() < 60_000);
    let mut shape = first.clone();
    shape["timestamp"] = json!(0);
    assert_eq!(
        shape,
        json!({
            "messageId": published[0], "timestamp": 0, "message": {"n": 0}, "publisherId": null,
            "subtopic": null, "pushSinglecast": null, "pushBroadcast": null,
            "publishPolicy": null, "templateValues": null, "query": null,
            "publishAt": 0, "repeatEvery": 0, "repeatExpiresAt": 0, "headers": {"foo": "20"},
        })
    );

    // SUB_OFF stops one subscription. It has no answer in the protocol, so markers are published
    // until one reaches only the other subscription; from then on none reaches it.
    rt.emit("SUB_OFF", json!({"id": "all"})).await;
    let mut stopped = false;
    for _ in 0..50 {
        let marker = publish_marker(&app.client).await;
        let (mut to_all, mut to_big) = (false, false);
        while !to_big {
            let (event, payload) = rt.next_event(WAIT).await;
            assert_eq!(event, "SUB_RES", "{payload}");
            assert_eq!(payload["data"]["messageId"], marker);
            match payload["id"].as_str() {
                Some("all") => to_all = true,
                Some("big") => to_big = true,
                other => panic!("a delivery to {other:?}"),
            }
        }
        if !to_all {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "SUB_OFF never took effect");
    let marker = publish_marker(&app.client).await;
    let (event, payload) = rt.next_event(WAIT).await;
    assert_eq!(event, "SUB_RES");
    assert_eq!(payload, json!({"id": "big", "data": payload["data"]}));
    assert_eq!(payload["data"]["messageId"], marker);
}

async fn publish_marker(client: &crate::support::Client) -> String {
    client
        .publish_ok("news", json!({"message": "end", "headers": {"foo": 11}}))
        .await
}

async fn an_invalid_selector_fails_the_subscription_with_its_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut rt = connected(&app).await;
    let (event, failure) = rt
        .sub_on(
            "bad",
            "PUB_SUB_MESSAGES",
            json!({"channel": "news", "selector": "importance = "}),
        )
        .await;
    assert_eq!(event, "SUB_RES");
    assert_eq!(failure["id"], "bad");
    assert_eq!(failure["error"]["code"], 9021);
    assert_eq!(
        failure["error"]["message"],
        "invalid selector: expected a value after '=' at position 13, found end of input"
    );
}

async fn commands_reach_the_channels_command_listeners_and_not_its_message_listeners(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let mut rt = connected(&app).await;
    listen_to_commands(&mut rt, "cmd", "chat").await;
    let (event, _) = rt
        .sub_on("msg", "PUB_SUB_MESSAGES", json!({"channel": "chat"}))
        .await;
    assert_eq!(event, "SUB_READY");
    let mut elsewhere = connected(&app).await;
    listen_to_commands(&mut elsewhere, "other", "news").await;

    let mut early = send_command(&mut rt, "chat", "hello", json!([1, 2])).await;
    let (event, delivery) = next(&mut rt, &mut early).await;
    assert_eq!(event, "SUB_RES");
    assert_eq!(delivery["id"], "cmd", "{delivery}");
    assert_eq!(delivery["data"]["type"], "hello");
    assert_eq!(delivery["data"]["data"], json!([1, 2]));

    // A message next reaches the message listener only; the other channel heard nothing.
    let id = app.client.publish_ok("chat", json!({"message": "m"})).await;
    let (_, delivery) = rt.next_event(WAIT).await;
    assert_eq!(delivery["id"], "msg");
    assert_eq!(delivery["data"]["messageId"], id);
    let mut early = send_command(&mut elsewhere, "news", "ping", json!(null)).await;
    let (_, delivery) = next(&mut elsewhere, &mut early).await;
    assert_eq!(
        delivery["data"]["type"], "ping",
        "its first delivery is its own channel's"
    );
}

async fn a_connection_that_leaves_a_channel_hears_nothing_until_it_joins_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut leaver = connected(&app).await;
    let (event, _) = leaver
        .sub_on("join", "PUB_SUB_CONNECT", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");
    assert_eq!(leaver.next_event(WAIT).await.0, "SUB_RES", "connected");
    let (event, _) = leaver
        .sub_on("msgs", "PUB_SUB_MESSAGES", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");
    // A second connection sees every message: once it has one, the leaver was offered it too.
    let mut witness = connected(&app).await;
    let (event, _) = witness
        .sub_on("w", "PUB_SUB_MESSAGES", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");

    // leave(): SUB_OFF of the join. Events are handled in order, so once the next call is
    // answered the leave has taken effect.
    leaver.emit("SUB_OFF", json!({"id": "join"})).await;
    leaver
        .emit(
            "MET_REQ",
            json!({"id": "t", "name": "SET_USER_TOKEN", "options": {"userToken": null}}),
        )
        .await;
    assert_eq!(
        leaver.next_event(WAIT).await,
        ("MET_RES".to_string(), json!({"id": "t", "result": null}))
    );
    let while_left = app
        .client
        .publish_ok("news", json!({"message": "while left"}))
        .await;
    assert_eq!(
        witness.next_event(WAIT).await.1["data"]["messageId"],
        while_left
    );

    // join() again: the same listener receives again, and never got what came while it was away.
    let (event, _) = leaver
        .sub_on("rejoin", "PUB_SUB_CONNECT", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");
    assert_eq!(leaver.next_event(WAIT).await.0, "SUB_RES", "connected");
    let after = app
        .client
        .publish_ok("news", json!({"message": "after"}))
        .await;
    let (event, delivery) = leaver.next_event(WAIT).await;
    assert_eq!(event, "SUB_RES");
    assert_eq!(delivery["id"], "msgs");
    assert_eq!(delivery["data"]["messageId"], after);
}

/// Subscribes `rt` to the channel's commands.
async fn listen_to_commands(rt: &mut RtClient, id: &str, channel: &str) {
    let (event, ready) = rt
        .sub_on(id, "PUB_SUB_COMMANDS", json!({"channel": channel}))
        .await;
    assert_eq!((event.as_str(), ready), ("SUB_READY", json!({"id": id})));
}

/// Sends a command from `rt` and checks the method's answer; the events that came before the
/// answer (its own command, when it listens: the answer waits for the broker, the delivery may
/// not), for the caller to read first.
async fn send_command(
    rt: &mut RtClient,
    channel: &str,
    kind: &str,
    data: Value,
) -> Vec<(String, Value)> {
    rt.emit(
        "MET_REQ",
        json!({"id": "m1", "name": "PUB_SUB_COMMAND", "options": {"channel": channel, "type": kind, "data": data}}),
    )
    .await;
    let mut before = Vec::new();
    loop {
        let (event, payload) = rt.next_event(WAIT).await;
        if event == "MET_RES" {
            assert_eq!(payload, json!({"id": "m1", "result": null}));
            return before;
        }
        before.push((event, payload));
    }
}

/// The next event, taking those already read first.
async fn next(rt: &mut RtClient, early: &mut Vec<(String, Value)>) -> (String, Value) {
    if early.is_empty() {
        rt.next_event(WAIT).await
    } else {
        early.remove(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_the_channels_listeners_on_every_dispatcher_node() {
    let prefix = crate::support::fresh_prefix();
    let config = crate::support::test_config(Backend::Real, &prefix);
    let first = TestApp::spawn_with(herald::Role::Dispatcher, config.clone()).await;
    let second = TestApp::spawn_with(herald::Role::Dispatcher, config).await;
    let mut listener = connected(&first).await;
    let mut sender = connected(&second).await;
    listen_to_commands(&mut listener, "cmd", "chat").await;
    listen_to_commands(&mut sender, "own", "chat").await;

    let mut early = send_command(&mut sender, "chat", "typing", json!({"on": true})).await;
    for (rt, early) in [(&mut listener, &mut Vec::new()), (&mut sender, &mut early)] {
        let (event, delivery) = next(rt, early).await;
        assert_eq!(event, "SUB_RES");
        let data = &delivery["data"];
        assert_eq!(data["type"], "typing");
        assert_eq!(data["data"], json!({"on": true}));
        let connection = data["connectionId"]
            .as_str()
            .expect("the sender's connection id");
        assert!(!connection.is_empty());
        assert_eq!(
            data["userInfo"],
            json!({"connectionId": connection, "userId": null})
        );
    }
}
