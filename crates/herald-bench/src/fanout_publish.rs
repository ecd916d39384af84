//! The fan-out benchmark's publishers: numbered messages through ingest's
//! `POST .../messaging/<channel>`, over keep-alive HTTP/1.1 connections opened beforehand.
//!
//! Message `i` of a phase carries the sequence `phase << 32 | i` as its data, and the header kind
//! 'a' when `i` is even, 'b' when odd.

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::Target;

type Sender = SendRequest<Full<Bytes>>;

/// What the publishers got through.
pub struct Published {
    /// Accepted messages with kind 'a', and with kind 'b'.
    pub kind_a: u64,
    pub kind_b: u64,
    /// Publishes herald refused or that failed, with why.
    pub failed: BTreeMap<String, u64>,
    /// From the start to the last answer.
    pub elapsed: Duration,
    /// How late each paced message left against its schedule, µs (empty for a burst).
    pub send_lag: Histogram<u64>,
}

impl Published {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            kind_a: 0,
            kind_b: 0,
            failed: BTreeMap::new(),
            elapsed: Duration::ZERO,
            send_lag: Histogram::new(3)?,
        })
    }

    fn count(&mut self, i: usize, result: anyhow::Result<Option<u16>>) {
        let why = match result {
            Ok(None) if i % 2 == 0 => return self.kind_a += 1,
            Ok(None) => return self.kind_b += 1,
            Ok(Some(status)) => format!("HTTP {status}"),
            Err(err) => err.to_string(),
        };
        *self.failed.entry(why).or_default() += 1;
    }
}

/// The request body of message `i` of `phase`.
fn body(phase: u64, i: usize) -> anyhow::Result<Bytes> {
    let kind = if i % 2 == 0 { "a" } else { "b" };
    let body = serde_json::json!({"message": phase << 32 | i as u64, "headers": {"kind": kind}});
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

/// Each connection sends its next message as soon as the last one is answered.
pub async fn burst(
    target: Target,
    senders: Vec<Sender>,
    phase: u64,
    messages: usize,
    start: Instant,
) -> anyhow::Result<Published> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for mut sender in senders {
        let (target, next) = (target.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut published = Published::new()?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= messages {
                    return anyhow::Ok(published);
                }
                let result = target.publish_body(&mut sender, body(phase, i)?).await;
                let failed = result.is_err();
                published.count(i, result);
                if failed {
                    sender = target.connect().await?;
                }
            }
        }));
    }
    let mut published = Published::new()?;
    for task in tasks {
        let part = task.await??;
        published.kind_a += part.kind_a;
        published.kind_b += part.kind_b;
        for (why, n) in part.failed {
            *published.failed.entry(why).or_default() += n;
        }
    }
    published.elapsed = start.elapsed();
    Ok(published)
}

/// Message `i` leaves at `start + i / rate` whatever the answers' latency (open loop): it takes
/// an idle connection from the pool, or opens one when none is idle, so a slow answer never
/// delays the schedule.
pub async fn paced(
    target: Target,
    senders: Vec<Sender>,
    phase: u64,
    messages: usize,
    rate: f64,
    start: Instant,
) -> anyhow::Result<Published> {
    let idle = Arc::new(Mutex::new(senders));
    let mut tasks = Vec::with_capacity(messages);
    for i in 0..messages {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (target, idle) = (target.clone(), idle.clone());
        tasks.push(tokio::spawn(async move {
            // Skip connections ingest closed while they sat idle (its keep-alive timeout).
            let pooled = {
                let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
                std::iter::from_fn(|| idle.pop()).find(|sender| !sender.is_closed())
            };
            let mut sender = match pooled {
                Some(sender) => sender,
                None => target.connect().await?,
            };
            let lag = due.elapsed();
            let result = target.publish_body(&mut sender, body(phase, i)?).await;
            if result.is_ok() {
                idle.lock().unwrap_or_else(|e| e.into_inner()).push(sender);
            }
            anyhow::Ok((result, lag))
        }));
    }
    let mut published = Published::new()?;
    for (i, task) in tasks.into_iter().enumerate() {
        let (result, lag) = task.await??;
        published.count(i, result);
        let _ = published.send_lag.record(lag.as_micros() as u64);
    }
    published.elapsed = start.elapsed();
    Ok(published)
}
