//! The operations endpoints: metrics a Prometheus can scrape, liveness, readiness.

use serde_json::json;
use std::time::Duration;

use crate::support::{wait_for_status, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_publishes_and_deliveries() {
    let app = TestApp::spawn(Backend::Real).await;
    let id = app.client.publish_ok("news", json!({"message": 1})).await;
    wait_for_status(&app.client, &id, "published", Duration::from_secs(5)).await;
    let (status, _) = app.client.publish("news", json!({"nope": 1})).await;
    assert_eq!(status, 400);

    let (status, metrics) = app.client.get_raw("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"herald_ingest_requests_total{method="POST",route="/messaging/{channel}",status="200"} 1"#,
        r#"herald_ingest_requests_total{method="POST",route="/messaging/{channel}",status="400"} 1"#,
        r#"herald_amqp_publishes_total{outcome="confirmed",route="dispatch"} 1"#,
        r#"herald_amqp_connected 1"#,
        r#"herald_dispatcher_deliveries_total{outcome="no_subscribers"} 1"#,
        r#"herald_dispatcher_end_to_end_seconds_count 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "/metrics lacks `{line}`:\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_answer_when_herald_is_up() {
    let app = TestApp::spawn(Backend::InMemory).await;
    let (status, body) = app.client.get_raw("/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = app.client.get_raw("/readyz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_metrics_report_pending_entries_and_clock_skew() {
    let app = TestApp::spawn(Backend::Real).await;
    let later = crate::support::now_ms() + 3_600_000;
    for n in 0..3 {
        app.client
            .publish_ok("news", json!({"message": n, "publishAt": later}))
            .await;
    }
    crate::support::eventually(
        Duration::from_secs(10),
        "three entries are pending",
        || async {
            let (_, metrics) = app.client.get_raw("/metrics").await;
            metrics.lines().any(|l| l == "herald_scheduler_pending 3")
        },
    )
    .await;
    let (_, metrics) = app.client.get_raw("/metrics").await;
    for line in [
        "herald_scheduler_in_flight 0",
        "herald_scheduler_oldest_overdue_seconds 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "/metrics lacks `{line}`:\n{metrics}"
        );
    }
    let skew: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("herald_scheduler_clock_skew_seconds "))
        .expect("a clock skew gauge")
        .parse()
        .unwrap();
    // Redis runs on this machine: its clock and ours agree to well within a second.
    assert!(skew.abs() < 1.0, "skew {skew} s");
}
