//! RabbitMQ itself restarted (its application stopped and started, so queues come back from
//! disk) while messages are pending: on the dispatch route, on the schedule route, and due in
//! Redis while the broker is down. Nothing is lost and nothing is delivered twice.
//!
//! It restarts the shared broker, so it would break the tests running beside it: it is ignored in
//! the main run, and scripts/test runs it alone afterwards (`--run-ignored only`).

use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

use crate::support::{
    assert_each_once, fresh_prefix, now_ms, poll_until, test_config, Backend, TestApp,
};
use herald::Role;

async fn rabbitmqctl(command: &str) {
    let status = tokio::process::Command::new("rabbitmqctl")
        .arg(command)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .expect("rabbitmqctl runs (this test restarts the local RabbitMQ)");
    assert!(status.success(), "rabbitmqctl {command} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the shared RabbitMQ: scripts/test runs it alone after the suite"]
async fn a_rabbitmq_restart_while_messages_are_pending_loses_nothing() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    // Claims that fail to publish while the broker is down come back soon.
    config.scheduler.lease = Duration::from_millis(2000);
    let ingest = TestApp::spawn_with(Role::Ingest, config.clone()).await;
    let scheduler = TestApp::spawn_with(Role::Scheduler, config.clone()).await;
    let subscription = ingest.client.subscribe("news").await;

    let mut published = HashSet::new();
    // Due while the broker is down: stored in Redis now, fired when it is back.
    let due = now_ms() + 1_500;
    for n in 0..20 {
        let body = json!({"message": {"delayed": n}, "publishAt": due});
        published.insert(ingest.client.publish_ok("news", body).await);
    }
    // Waiting on the dispatch route, which nobody consumes yet.
    for n in 0..20 {
        let body = json!({"message": {"immediate": n}});
        published.insert(ingest.client.publish_ok("news", body).await);
    }

    rabbitmqctl("stop_app").await;
    rabbitmqctl("start_app").await;

    ingest.client.wait_ready(Duration::from_secs(60)).await;
    scheduler.client.wait_ready(Duration::from_secs(60)).await;
    for n in 0..5 {
        let body = json!({"message": {"after": n}});
        published.insert(ingest.client.publish_ok("news", body).await);
    }
    let _dispatcher = TestApp::spawn_with(Role::Dispatcher, config).await;

    let received = poll_until(
        &ingest.client,
        "news",
        &subscription,
        published.len(),
        Duration::from_secs(60),
    )
    .await;
    assert_each_once(&received, &published);
    assert!(ingest
        .client
        .poll_ok("news", &subscription)
        .await
        .is_empty());
}
