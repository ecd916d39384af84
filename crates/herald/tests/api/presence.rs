//! Realtime presence (`PUB_SUB_USERS`, the SDKs' `addUserStatusListener`): a listener first gets
//! the channel's `LISTING`, then `CONNECTED`, `USERUPDATE` and `DISCONNECTED` as connections join,
//! re-identify, leave and close, on any dispatcher node; the members of a node that died without a
//! word are announced gone by a surviving node.

use herald::Role;
use herald_backend::store::keys::Keys;
use herald_core::ChannelName;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::time::Duration;

use crate::on_both_backends;
use crate::realtime::connected;
use crate::support::realtime::RtClient;
use crate::support::{fresh_prefix, real_urls, test_config, Backend, TestApp, APP_ID};

on_both_backends!(presence_listeners_get_the_listing_then_every_change);

const WAIT: Duration = Duration::from_secs(10);

/// `PUB_SUB_CONNECT`: joins the channel under `id`.
async fn join(rt: &mut RtClient, id: &str, channel: &str) {
    let (event, _) = rt
        .sub_on(id, "PUB_SUB_CONNECT", json!({"channel": channel}))
        .await;
    assert_eq!(event, "SUB_READY");
    assert_eq!(rt.next_event(WAIT).await.0, "SUB_RES", "connected");
}

/// `PUB_SUB_USERS` under `id`; returns the listing, its first delivery.
async fn listen_to_presence(rt: &mut RtClient, id: &str, channel: &str) -> Value {
    let (event, ready) = rt
        .sub_on(id, "PUB_SUB_USERS", json!({"channel": channel}))
        .await;
    assert_eq!((event.as_str(), ready), ("SUB_READY", json!({"id": id})));
    let (event, delivery) = rt.next_event(WAIT).await;
    assert_eq!(event, "SUB_RES", "{delivery}");
    assert_eq!(delivery["id"], id);
    assert_eq!(delivery["data"]["status"], "LISTING", "{delivery}");
    delivery["data"].clone()
}

/// The next presence change for `rt`. A change the listing already showed may follow it (it was
/// on its way when the listing was read): `known` names the members the listing showed, whose
/// `CONNECTED` is skipped once.
async fn next_change(rt: &mut RtClient, known: &mut Vec<String>) -> Value {
    loop {
        let (event, delivery) = rt.next_event(WAIT).await;
        assert_eq!(event, "SUB_RES", "{delivery}");
        let data = delivery["data"].clone();
        let member = data["data"][0]["connectionId"].as_str().unwrap_or_default();
        if data["status"] == "CONNECTED" {
            if let Some(at) = known.iter().position(|k| k == member) {
                known.remove(at);
                continue;
            }
        }
        return data;
    }
}

fn change(status: &str, connection: &str) -> Value {
    json!({"status": status, "data": [{"connectionId": connection, "userId": null}]})
}

fn members(listing: &Value) -> Vec<String> {
    let mut ids: Vec<String> = listing["data"]
        .as_array()
        .expect("a list of members")
        .iter()
        .map(|m| {
            assert_eq!(m["userId"], Value::Null, "{m}");
            m["connectionId"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

async fn presence_listeners_get_the_listing_then_every_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut watcher = connected(&app).await;
    join(&mut watcher, "j", "room").await;
    let listing = listen_to_presence(&mut watcher, "users", "room").await;
    assert_eq!(listing, change("LISTING", &watcher.sid));
    let mut known = members(&listing);

    // A connection on another channel is not this channel's member.
    let mut elsewhere = connected(&app).await;
    join(&mut elsewhere, "e", "lobby").await;

    let mut visitor = connected(&app).await;
    join(&mut visitor, "v", "room").await;
    let sid = visitor.sid.clone();
    assert_eq!(
        next_change(&mut watcher, &mut known).await,
        change("CONNECTED", &sid)
    );

    visitor
        .emit(
            "MET_REQ",
            json!({"id": "t", "name": "SET_USER_TOKEN", "options": {"userToken": null}}),
        )
        .await;
    assert_eq!(visitor.next_event(WAIT).await.0, "MET_RES");
    assert_eq!(
        next_change(&mut watcher, &mut known).await,
        change("USERUPDATE", &sid)
    );

    // leave() and join() again.
    visitor.emit("SUB_OFF", json!({"id": "v"})).await;
    assert_eq!(
        next_change(&mut watcher, &mut known).await,
        change("DISCONNECTED", &sid)
    );
    join(&mut visitor, "v2", "room").await;
    assert_eq!(
        next_change(&mut watcher, &mut known).await,
        change("CONNECTED", &sid)
    );

    // A second listener's listing shows both members.
    let listing = listen_to_presence(&mut visitor, "mine", "room").await;
    let mut both = vec![watcher.sid.clone(), sid.clone()];
    both.sort();
    assert_eq!(members(&listing), both);

    visitor.close().await;
    assert_eq!(
        next_change(&mut watcher, &mut known).await,
        change("DISCONNECTED", &sid)
    );
    elsewhere.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_spans_dispatcher_nodes() {
    let prefix = fresh_prefix();
    let config = test_config(Backend::Real, &prefix);
    let first = TestApp::spawn_with(Role::Dispatcher, config.clone()).await;
    let second = TestApp::spawn_with(Role::Dispatcher, config).await;

    let mut remote = connected(&second).await;
    join(&mut remote, "r", "room").await;
    let mut listener = connected(&first).await;
    let listing = listen_to_presence(&mut listener, "users", "room").await;
    assert_eq!(
        listing,
        change("LISTING", &remote.sid),
        "the listing holds the other node's member"
    );
    let mut known = members(&listing);

    let mut local = connected(&first).await;
    join(&mut local, "l", "room").await;
    assert_eq!(
        next_change(&mut listener, &mut known).await,
        change("CONNECTED", &local.sid)
    );
    let remote_sid = remote.sid.clone();
    remote.close().await;
    assert_eq!(
        next_change(&mut listener, &mut known).await,
        change("DISCONNECTED", &remote_sid),
        "the other node's member closed"
    );
    local.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_of_a_node_that_died_are_announced_gone() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    config.live.presence_ttl = Duration::from_secs(3);
    let app = TestApp::spawn_with(Role::Dispatcher, config).await;

    // What a node killed while its connection was joined leaves behind: its record, and no
    // heartbeat.
    let (_, redis) = real_urls();
    let client = redis::Client::open(redis.expose_secret()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = Keys::new(&prefix, 16).presence(APP_ID, &ChannelName::parse("room").unwrap());
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("ghost")
        .arg(r#"{"u":null,"n":"dispatcher-dead"}"#)
        .query_async(&mut conn)
        .await
        .unwrap();

    let mut listener = connected(&app).await;
    join(&mut listener, "j", "room").await;
    let listing = listen_to_presence(&mut listener, "users", "room").await;
    assert_eq!(
        members(&listing),
        vec![listener.sid.clone()],
        "a dead node's member is not listed"
    );
    let mut known = members(&listing);
    assert_eq!(
        next_change(&mut listener, &mut known).await,
        change("DISCONNECTED", "ghost"),
        "a surviving node announces the dead node's member gone"
    );
    let left: bool = redis::cmd("HEXISTS")
        .arg(&key)
        .arg("ghost")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!left, "the sweep removed the record");
}
