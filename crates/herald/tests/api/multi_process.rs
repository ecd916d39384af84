//! Several herald processes on one broker: two ingest and two dispatcher processes deliver each
//! message to a poller exactly once.

use std::time::Duration;

use crate::support::cleanup::Cleanup;
use crate::support::process::{real_env, HeraldProcess};
use crate::support::{assert_each_once, fresh_prefix, poll_until, publish_concurrently, Client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ingest_and_two_dispatcher_processes_deliver_each_message_once() {
    let prefix = fresh_prefix();
    let _cleanup = Cleanup::for_prefix(&prefix);
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

    let published = publish_concurrently(&clients[..2], "news", 4, 50).await;
    let received = poll_until(
        &clients[1],
        "news",
        &subscription,
        200,
        Duration::from_secs(30),
    )
    .await;
    assert_each_once(&received, &published);
    assert!(clients[1].poll_ok("news", &subscription).await.is_empty());
    for process in &mut processes {
        process.kill();
    }
}
