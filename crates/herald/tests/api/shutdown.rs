//! Graceful shutdown: SIGTERM stops the process cleanly, and work accepted before a shutdown is
//! delivered once, by this process or the next one.

use herald::Role;
use serde_json::json;
use std::time::Duration;

use crate::realtime::connected;
use crate::support::cleanup::Cleanup;
use crate::support::process::{real_env, HeraldProcess};
use crate::support::{
    assert_each_once, fresh_prefix, poll_until, publish_concurrently, test_config, Backend, Client,
    TestApp,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_role_cleanly() {
    let prefix = fresh_prefix();
    let _cleanup = Cleanup::for_prefix(&prefix);
    let env = real_env(&prefix);
    for role in ["ingest", "scheduler", "dispatcher", "standalone"] {
        let process = HeraldProcess::start(role, &env).await;
        Client::new(process.address)
            .wait_ready(Duration::from_secs(20))
            .await;
        let status = tokio::time::timeout(Duration::from_secs(15), process.terminate())
            .await
            .expect("exits within the drain timeout");
        assert!(status.success(), "herald {role} exited with {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_accepted_before_a_shutdown_are_delivered_once_after_it() {
    let prefix = fresh_prefix();
    let first = TestApp::spawn_with(Role::Standalone, test_config(Backend::Real, &prefix)).await;
    let subscription = first.client.subscribe("news").await;
    let accepted = publish_concurrently(std::slice::from_ref(&first.client), "news", 4, 25).await;
    // Stop at once: some messages are still queued or in flight in the dispatcher.
    let _cleanup = first.stop().await;

    let second = TestApp::spawn_with(Role::Standalone, test_config(Backend::Real, &prefix)).await;
    let received = poll_until(
        &second.client,
        "news",
        &subscription,
        accepted.len(),
        Duration::from_secs(20),
    )
    .await;
    assert_each_once(&received, &accepted);
}

#[tokio::test]
async fn a_realtime_client_connected_at_shutdown_is_closed_cleanly_and_herald_stops() {
    let app = TestApp::spawn(Backend::InMemory).await;
    let mut client = connected(&app).await;
    let (event, _) = client
        .sub_on("c1", "PUB_SUB_CONNECT", json!({"channel": "news"}))
        .await;
    assert_eq!(event, "SUB_READY");

    let stopping = tokio::spawn(app.stop());
    client.closed_by_server(Duration::from_secs(10)).await;
    // The drain timeout is 2 s (test_config); nothing of the realtime server holds the stop up.
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("herald stops")
        .expect("joins");
}
