//! A status record an older herald wrote (on Redis) has no channel: its status and cancel are
//! decided on the empty channel name, so only the roles' global permissions count.

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::support::security::{permission, secure, token};
use crate::support::{fresh_prefix, real_urls, test_config, Backend, TestApp, APP_ID};
use herald::Role;
use herald_backend::store::keys::Keys;
use herald_core::MessageId;

async fn call(app: &TestApp, method: Method, id: MessageId, user_token: &str) -> (u16, Value) {
    let url = app.client.app_url(&format!("/messaging/{id}"));
    let request = app.client.raw().request(method, url);
    app.client
        .send(request.header("user-token", user_token))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_a_channel_is_decided_by_global_permissions_only() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    secure(&mut config);
    config.apps[0].permissions.push(permission(
        None,
        Some("auditor"),
        None,
        &["status", "cancel"],
        &[],
    ));
    let shards = config.scheduler.shards.get();
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let id = MessageId::new_random();
    let (_, redis) = real_urls();
    let mut conn = redis::Client::open(redis.expose_secret())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // The record as herald wrote it before the channel was recorded.
    let key = Keys::new(&prefix, shards).status(APP_ID, id);
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg(&["s", "scheduled", "k", "deferred"])
        .query_async(&mut conn)
        .await
        .unwrap();
    // Editors may read and cancel on orders.* only: no channel permission names "".
    let editor = token("erin", &["editor"]);
    let (status, body) = call(&app, Method::GET, id, &editor).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(9043)), "{body}");
    let (status, body) = call(&app, Method::DELETE, id, &editor).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(9044)), "{body}");
    let auditor = token("ada", &["auditor"]);
    let (status, body) = call(&app, Method::GET, id, &auditor).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &"scheduled".into()),
        "{body}"
    );
    let (status, body) = call(&app, Method::DELETE, id, &auditor).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &"cancelled".into()),
        "{body}"
    );
}
