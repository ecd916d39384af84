//! `herald-bench scheduler`: schedules `count` messages through herald's ingest, due evenly over
//! `spread` (0: all at one instant), and reads them off herald's dispatch queue (no dispatcher
//! runs) to measure each one's lateness: the time it reached the dispatch route minus its due
//! time. Also reports Redis memory per pending message.

use bytes::Bytes;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use herald_core::Envelope;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http::Target;

/// Wall-clock time in ms since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// What one run measured.
pub struct Lateness {
    pub histogram: Histogram<u64>,
    /// From the last due time to the last message reaching the dispatch route, ms.
    pub drain_ms: i64,
    pub bytes_per_pending: Option<f64>,
    /// Bytes of each message's payload (the published `message` string), so the report can
    /// give herald's own cost per pending message beside the total.
    pub payload_bytes: usize,
}

pub struct Plan<'a> {
    pub root: &'a str,
    pub amqp_url: &'a str,
    pub redis_url: &'a str,
    pub prefix: &'a str,
    pub count: usize,
    pub spread_ms: i64,
    pub lead_ms: i64,
    pub message_bytes: usize,
}

pub async fn run(plan: Plan<'_>) -> anyhow::Result<Lateness> {
    let start = now_ms() + plan.lead_ms;
    let due = |i: usize| {
        start
            + if plan.spread_ms > 0 {
                i as i64 * plan.spread_ms / plan.count as i64
            } else {
                0
            }
    };
    let memory_before = used_memory(plan.redis_url).await?;

    // Consume first, so no message is missed; nothing else consumes the dispatch route.
    let connection = Connection::connect(plan.amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let queue = format!("{}.dispatch", plan.prefix);
    let options = BasicConsumeOptions {
        no_ack: true,
        ..Default::default()
    };
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            options,
            FieldTable::default(),
        )
        .await?;

    schedule_all(&plan, &due).await?;
    let bytes_per_pending = if now_ms() < start {
        let after = used_memory(plan.redis_url).await?;
        Some((after - memory_before) as f64 / plan.count as f64)
    } else {
        None
    };

    let mut histogram = Histogram::<u64>::new(3)?;
    let mut last_arrival = 0;
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis((start - now_ms() + plan.spread_ms + 120_000).max(0) as u64);
    while (histogram.len() as usize) < plan.count {
        let delivery = tokio::time::timeout_at(deadline, consumer.next())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "only {} of {} messages arrived",
                    histogram.len(),
                    plan.count
                )
            })?
            .ok_or_else(|| anyhow::anyhow!("the consumer ended"))??;
        let arrived = now_ms();
        // The scheduler publishes the occurrences it fires together as one batch.
        for body in herald_core::batch::split_batch(&delivery.data)? {
            let envelope = Envelope::decode(body)?;
            let lateness = arrived - envelope.schedule.publish_at;
            histogram.record(lateness.max(0) as u64)?;
        }
        last_arrival = arrived;
    }
    connection.close(200, "done".into()).await?;
    Ok(Lateness {
        histogram,
        drain_ms: last_arrival - due(plan.count - 1),
        bytes_per_pending,
        payload_bytes: plan.message_bytes,
    })
}

/// Publishes every message through ingest, 64 at a time.
async fn schedule_all(plan: &Plan<'_>, due: &(impl Fn(usize) -> i64 + Sync)) -> anyhow::Result<()> {
    let target = Target::new(plan.root, &serde_json::json!({}))?;
    let next = Arc::new(AtomicUsize::new(0));
    let payload = "x".repeat(plan.message_bytes);
    let mut workers = Vec::new();
    for _ in 0..64 {
        let (target, next, payload) = (target.clone(), next.clone(), payload.clone());
        let dues: Vec<i64> = (0..plan.count).map(due).collect();
        workers.push(tokio::spawn(async move {
            let mut sender = target.connect().await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(at) = dues.get(i) else {
                    return anyhow::Ok(());
                };
                let body =
                    serde_json::to_vec(&serde_json::json!({"message": payload, "publishAt": at}))?;
                if let Some(status) = target.publish_body(&mut sender, Bytes::from(body)).await? {
                    anyhow::bail!("herald refused a scheduled publish: HTTP {status}");
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

async fn used_memory(redis_url: &str) -> anyhow::Result<i64> {
    let mut conn = redis::Client::open(redis_url)?
        .get_multiplexed_async_connection()
        .await?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("INFO memory has no used_memory"))
}
