//! What a pending deferred message costs in Redis: its schedule entry stays a compact hash (the
//! envelope lives in its own string beside it), both expire, and cancel removes both.

use herald_backend::store::keys::Keys;
use herald_core::MessageId;
use secrecy::ExposeSecret;
use serde_json::json;
use std::time::Duration;

use crate::support::{
    eventually, fresh_prefix, now_ms, real_urls, test_config, Backend, TestApp, APP_ID,
};
use herald::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_message_is_a_compact_entry_and_an_envelope_that_cancel_removes() {
    let prefix = fresh_prefix();
    let config = test_config(Backend::Real, &prefix);
    let keys = Keys::new(&prefix, config.scheduler.shards.get());
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let body = json!({"message": "x".repeat(1024), "publishAt": now_ms() + 3_600_000});
    let id = app.client.publish_ok("news", body).await;

    let message_id = MessageId::parse(&id).unwrap();
    let (entry, envelope) = (
        keys.schedule_entry(APP_ID, message_id),
        keys.schedule_envelope(APP_ID, message_id),
    );
    let (_, redis) = real_urls();
    let client = redis::Client::open(redis.expose_secret()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    eventually(
        Duration::from_secs(10),
        "the scheduler stores the entry",
        || {
            let mut conn = conn.clone();
            let entry = entry.clone();
            async move {
                let exists: bool = redis::cmd("EXISTS")
                    .arg(&entry)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                exists
            }
        },
    )
    .await;
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&entry)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(encoding, "listpack", "the entry holds only small fields");
    let stored: String = redis::cmd("GET")
        .arg(&envelope)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        stored.contains(&"x".repeat(1024)),
        "the envelope is kept whole"
    );
    for key in [&entry, &envelope] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 3_600_000,
            "{key} expires after its last occurrence, PTTL {ttl}"
        );
    }

    let (status, answer) = app.client.cancel(&id).await;
    assert_eq!(status, 200, "{answer}");
    let left: i64 = redis::cmd("EXISTS")
        .arg(&entry)
        .arg(&envelope)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "cancel removes the entry and the envelope");
}
