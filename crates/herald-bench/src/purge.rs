//! `herald-bench purge`: removes what a benchmarked herald left behind, so one run neither slows
//! nor skews the next: its queues and exchanges, and (given a Redis URL) its keys.

use lapin::options::QueueDeleteOptions;
use lapin::{Connection, ConnectionProperties};

/// Deletes the queues and exchanges herald declared under `prefix` (see proto/rabbitmq-topology.md).
pub async fn amqp(amqp_url: &str, prefix: &str) -> anyhow::Result<()> {
    let connection = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for suffix in ["dispatch", "schedule", "dead"] {
        let queue = format!("{prefix}.{suffix}");
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    // A dispatcher's own live queue (`<prefix>.live.<node>`) expires by itself a minute after
    // the dispatcher stops.
    for exchange in [
        prefix.to_string(),
        format!("{prefix}.dead"),
        format!("{prefix}.live"),
    ] {
        channel
            .exchange_delete(exchange.as_str().into(), Default::default())
            .await?;
    }
    connection.close(200, "done".into()).await?;
    Ok(())
}

/// Unlinks every key under the Redis key prefix `prefix` (`<prefix>:*`, see proto/redis-keys.md),
/// never the rest of the database: the Redis may be shared.
/// Status records would otherwise outlive the run by their TTL, and their expiry during the next
/// run's measurement would make its memory figure too small.
pub async fn redis(redis_url: &str, prefix: &str) -> anyhow::Result<()> {
    let mut conn = redis::Client::open(redis_url)?
        .get_multiplexed_async_connection()
        .await?;
    let pattern = format!("{prefix}:*");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: usize = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
