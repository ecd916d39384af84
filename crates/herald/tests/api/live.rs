//! Live subscribers (SSE and WebSocket): exactly the matching messages, in publish order, on any
//! dispatcher node; a subscriber that stops reading is cut off with a reason while the others
//! keep receiving.

use serde_json::{json, Value};
use std::num::{NonZeroU16, NonZeroUsize};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::live::{SseStream, WsClient};
use crate::support::{fresh_prefix, publish_selector_set, test_config, Backend, Client, TestApp};
use herald::Role;

on_both_backends!(
    sse_subscribers_receive_exactly_the_matching_messages_in_publish_order,
    websocket_subscriptions_each_receive_their_channel_through_their_selector,
    invalid_selectors_are_refused_on_the_live_transports,
    a_subscriber_that_stops_reading_is_cut_off_and_the_others_keep_receiving,
    a_websocket_subscriber_that_stops_reading_is_told_why_and_closed_with_1008,
);

const WAIT: Duration = Duration::from_secs(10);

fn ids(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect()
}

fn pick(published: &[String], at: &[usize]) -> Vec<String> {
    at.iter().map(|&i| published[i].clone()).collect()
}

async fn sse_subscribers_receive_exactly_the_matching_messages_in_publish_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut everything = SseStream::open(&app.client, "news", None).await;
    let mut selected = SseStream::open(&app.client, "news", Some("foo > 10")).await;
    let mut elsewhere = SseStream::open(&app.client, "sports", None).await;
    let published = publish_selector_set(&app.client, "news").await;

    let all = everything.messages(7, WAIT).await;
    assert_eq!(ids(&all), published, "every message, in publish order");
    let matching = selected.messages(3, WAIT).await;
    assert_eq!(ids(&matching), pick(&published, &[0, 2, 6]));
    assert_eq!(matching[0]["headers"], json!({"foo": "20"}));
    assert_eq!(matching[0]["data"], json!({"n": 0}));

    // Nothing more for either: a message on the other channel reaches only its subscriber, and
    // once it has, anything extra on news would have arrived too.
    let goal = app
        .client
        .publish_ok("sports", json!({"message": "goal"}))
        .await;
    let sport = elsewhere.messages(1, WAIT).await;
    assert_eq!(ids(&sport), vec![goal.as_str()]);
    let marker = app
        .client
        .publish_ok("news", json!({"message": "end", "headers": {"foo": 11}}))
        .await;
    assert_eq!(
        ids(&everything.messages(1, WAIT).await),
        vec![marker.as_str()]
    );
    assert_eq!(
        ids(&selected.messages(1, WAIT).await),
        vec![marker.as_str()]
    );
}

async fn websocket_subscriptions_each_receive_their_channel_through_their_selector(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let mut ws = WsClient::connect(&app.client).await;
    for (id, channel, selector) in [
        ("all", "news", None),
        ("big", "news", Some("foo > 10")),
        ("sport", "sports", None),
    ] {
        let answer = ws.subscribe(id, channel, selector).await;
        assert_eq!(answer, json!({"type": "subscribed", "id": id}));
    }
    let duplicate = ws.subscribe("big", "news", None).await;
    assert_eq!(duplicate["type"], "error", "{duplicate}");

    let published = publish_selector_set(&app.client, "news").await;
    let goal = app
        .client
        .publish_ok("sports", json!({"message": "goal"}))
        .await;
    let frames = ws.messages(11, WAIT).await;
    let of = |id: &str| -> Vec<String> {
        frames
            .iter()
            .filter(|(sub, _)| sub == id)
            .map(|(_, message)| message.clone())
            .collect()
    };
    assert_eq!(of("all"), published);
    assert_eq!(of("big"), pick(&published, &[0, 2, 6]));
    assert_eq!(of("sport"), vec![goal]);

    ws.send(json!({"type": "unsubscribe", "id": "all"})).await;
    let answer = ws.next_frame(WAIT).await.expect("an answer");
    assert_eq!(answer, json!({"type": "unsubscribed", "id": "all"}));
    let last = app
        .client
        .publish_ok("news", json!({"message": "end", "headers": {"foo": 11}}))
        .await;
    let frames = ws.messages(1, WAIT).await;
    assert_eq!(frames, vec![("big".to_string(), last)]);

    ws.send(json!({"type": "subscribe"})).await;
    let answer = ws.next_frame(WAIT).await.expect("an answer");
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["code"], 9011, "{answer}");
}

async fn invalid_selectors_are_refused_on_the_live_transports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = format!(
        "{}?selector=foo%20%3D%20%27x%27%20%26%20age%20%3E%2035",
        app.client.app_url("/messaging/news/sse")
    );
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 9021);
    assert!(
        body["message"].as_str().unwrap().contains("position 10"),
        "{body}"
    );

    let mut ws = WsClient::connect(&app.client).await;
    let answer = ws.subscribe("s", "news", Some("importance = ")).await;
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["id"], "s");
    assert_eq!(answer["code"], 9021);
    assert_eq!(
        answer["message"],
        "invalid selector: expected a value after '=' at position 13, found end of input"
    );
    // The connection stays usable.
    let answer = ws.subscribe("s", "news", Some("importance = 'high'")).await;
    assert_eq!(answer["type"], "subscribed");
}

async fn a_subscriber_that_stops_reading_is_cut_off_and_the_others_keep_receiving(
    backend: Backend,
) {
    let (app, mut reader) = app_with_small_buffers_and_a_reader(backend).await;
    let mut stalled = SseStream::open(&app.client, "news", None).await;
    publish_until_one_is_cut_off(&app, &mut reader).await;

    // The stalled subscriber, reading at last, finds the reason as its last event.
    let mut last = None;
    while let Some(event) = stalled.next_event(WAIT).await {
        last = Some(event);
    }
    let last = last.expect("the stalled stream had events");
    assert_eq!(last.event.as_deref(), Some("error"), "{last:?}");
    let reason: Value = serde_json::from_str(&last.data).unwrap();
    assert_eq!(reason["code"], 9022);
    assert!(reason["message"].as_str().unwrap().contains("too slow"));

    assert_the_reader_still_receives(&app, &mut reader).await;
}

async fn a_websocket_subscriber_that_stops_reading_is_told_why_and_closed_with_1008(
    backend: Backend,
) {
    let (app, mut reader) = app_with_small_buffers_and_a_reader(backend).await;
    let mut stalled = WsClient::connect(&app.client).await;
    assert_eq!(
        stalled.subscribe("s", "news", None).await["type"],
        "subscribed"
    );
    publish_until_one_is_cut_off(&app, &mut reader).await;

    // Reading at last, the stalled subscriber finds the reason, then the close frame.
    let (last, close) = stalled.last_words(WAIT).await;
    let last = last.expect("the stalled connection had frames");
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["id"], Value::Null);
    assert_eq!(last["code"], 9022);
    assert!(
        last["message"].as_str().unwrap().contains("too slow"),
        "{last}"
    );
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, 1008);
    assert!(reason.contains("too slow"), "{reason}");

    assert_the_reader_still_receives(&app, &mut reader).await;
}

/// herald with connections that buffer 4 messages, and a WebSocket subscriber of `news` that
/// keeps reading.
async fn app_with_small_buffers_and_a_reader(backend: Backend) -> (TestApp, WsClient) {
    let mut config = test_config(backend, &fresh_prefix());
    config.live.buffer_messages = NonZeroUsize::new(4).unwrap();
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let mut reader = WsClient::connect(&app.client).await;
    assert_eq!(
        reader.subscribe("r", "news", None).await["type"],
        "subscribed"
    );
    (app, reader)
}

/// Publishes large messages to `news` until herald has cut a subscriber off for being slow: they
/// fill a stalled connection's socket buffers, then its own buffer. The reader gets each of them.
async fn publish_until_one_is_cut_off(app: &TestApp, reader: &mut WsClient) {
    let payload = "x".repeat(64 * 1024);
    let mut published = Vec::new();
    while slow_disconnects(&app.client).await == 0 {
        assert!(
            published.len() < 2000,
            "the stalled subscriber was never cut off"
        );
        for _ in 0..10 {
            let id = app
                .client
                .publish_ok("news", json!({"message": payload}))
                .await;
            published.push(id);
        }
        let frames = reader.messages(10, WAIT).await;
        let expected = &published[published.len() - 10..];
        let got: Vec<&String> = frames.iter().map(|(_, m)| m).collect();
        assert_eq!(got, expected.iter().collect::<Vec<_>>());
    }
}

async fn assert_the_reader_still_receives(app: &TestApp, reader: &mut WsClient) {
    let after = app
        .client
        .publish_ok("news", json!({"message": "after"}))
        .await;
    assert_eq!(
        reader.messages(1, WAIT).await,
        vec![("r".to_string(), after)]
    );
}

async fn slow_disconnects(client: &Client) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", client.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| l.starts_with("herald_live_slow_disconnects_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_on_two_dispatcher_nodes_each_receive_every_matching_message_once() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    // A small prefetch spreads the messages over both dispatchers.
    config.amqp.prefetch = NonZeroU16::new(2).unwrap();
    let ingest = TestApp::spawn_with(Role::Ingest, config.clone()).await;
    let first = TestApp::spawn_with(Role::Dispatcher, config.clone()).await;
    let second = TestApp::spawn_with(Role::Dispatcher, config).await;

    let mut on_first = SseStream::open(&first.client, "news", None).await;
    let mut ws_on_second = WsClient::connect(&second.client).await;
    assert_eq!(
        ws_on_second.subscribe("big", "news", Some("n >= 30")).await["type"],
        "subscribed"
    );
    let mut published = Vec::new();
    for n in 0..60 {
        let body = json!({"message": n, "headers": {"n": n}});
        published.push(ingest.client.publish_ok("news", body).await);
    }
    let mut all = ids(&on_first.messages(60, Duration::from_secs(30)).await)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let mut big: Vec<String> = ws_on_second
        .messages(30, Duration::from_secs(30))
        .await
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    // Two dispatchers may interleave: each message once, in any order across them.
    all.sort();
    big.sort();
    let mut expected_all = published.clone();
    expected_all.sort();
    let mut expected_big = published[30..].to_vec();
    expected_big.sort();
    assert_eq!(all, expected_all);
    assert_eq!(big, expected_big);
    // And nothing more: a marker arrives next on both.
    let marker = ingest
        .client
        .publish_ok("news", json!({"message": "end", "headers": {"n": 99}}))
        .await;
    assert_eq!(
        ids(&on_first.messages(1, WAIT).await),
        vec![marker.as_str()]
    );
    assert_eq!(
        ws_on_second.messages(1, WAIT).await,
        vec![("big".to_string(), marker)]
    );
}
