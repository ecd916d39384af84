//! Several herald processes on one broker: two ingest and two dispatcher processes deliver each
//! message to a poller exactly once.

use secrecy::ExposeSecret;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

use crate::support::cleanup::Cleanup;
use crate::support::process::{real_env, HeraldProcess};
use crate::support::{fresh_prefix, poll_until, real_urls, Client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ingest_and_two_dispatcher_processes_deliver_each_message_once() {
    let (amqp, redis) = real_urls();
    let prefix = fresh_prefix();
    let _cleanup = Cleanup::new(
        amqp.expose_secret(),
        redis.expose_secret().to_string(),
        &prefix,
        &prefix,
    );
    let mut env = real_env(&prefix);
    // A small prefetch spreads the messages over both dispatchers.
    env.insert("HERALD_AMQP__PREFETCH".into(), "4".into());
    let mut processes = Vec::new();
    for role in ["ingest", "ingest", "dispatcher", "dispatcher"] {
        processes.push(HeraldProcess::start(role, &env).await);
    }
    let clients: Vec<Client> = processes.iter().map(|p| Client::new(p.address)).collect();
    for client in &clients {
        client.wait_ready(Duration::from_secs(30)).await;
    }
    let subscription = clients[0].subscribe("news").await;

    let mut tasks = Vec::new();
    for worker in 0..4 {
        let client = clients[worker % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..50 {
                ids.push(
                    client
                        .publish_ok("news", json!({"message": {"worker": worker, "n": n}}))
                        .await,
                );
            }
            ids
        }));
    }
    let mut published = HashSet::new();
    for task in tasks {
        published.extend(task.await.unwrap());
    }
    assert_eq!(published.len(), 200);

    let received = poll_until(
        &clients[1],
        "news",
        &subscription,
        200,
        Duration::from_secs(30),
    )
    .await;
    let ids: Vec<String> = received
        .iter()
        .map(|m| m["messageId"].as_str().unwrap().to_string())
        .collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates delivered");
    assert_eq!(unique, published);
    assert!(clients[1].poll_ok("news", &subscription).await.is_empty());
    for process in &mut processes {
        process.kill();
    }
}
