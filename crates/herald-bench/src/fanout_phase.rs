//! One measured phase of the fan-out benchmark: publishers send numbered messages through ingest
//! (all at once, or paced at a rate) while the collector counts what the subscribers receive.
//!
//! Every subscriber without a selector gets every message, one with the selector `kind = 'a'`
//! every other one (see `fanout_publish` for the messages). A delivery's sequence names its
//! phase: deliveries of an earlier phase are ignored.

use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

use crate::fanout_clients::{Event, Subscribers};
use crate::fanout_publish::{self, Published};
use crate::http::Target;

/// How one phase publishes.
#[derive(Clone, Copy)]
pub enum Pace {
    /// As fast as the publishers get answers.
    Burst,
    /// Message `i` is sent at the phase's start + i / rate (per second).
    Rate(f64),
}

/// What one phase publishes, and how.
pub struct Plan<'a> {
    pub target: &'a Target,
    pub phase: u64,
    pub messages: usize,
    pub publishers: usize,
    pub pace: Pace,
    /// How long the collector waits without any delivery before it ends the phase.
    pub idle: Duration,
}

/// What one phase measured.
pub struct Outcome {
    pub expected: u64,
    pub received: u64,
    /// From the first publish to the last delivery.
    pub elapsed: Duration,
    /// From the first publish to the last publish answered.
    pub publishing: Duration,
    /// Publishes herald refused or that failed, with why.
    pub failed: std::collections::BTreeMap<String, u64>,
    /// Client-measured latency of each delivery (arrival minus scheduled send), µs; only
    /// recorded for paced phases.
    pub latency: Histogram<u64>,
    /// How late the paced messages left against their schedule, µs.
    pub send_lag: Histogram<u64>,
    /// Subscribers herald cut off during the phase, and the last word of one of them.
    pub cut_off: usize,
    pub cut_off_reason: Option<String>,
}

/// Publishes the phase's messages and collects deliveries until every expected one arrived or
/// none arrived for `plan.idle`.
pub async fn run(plan: Plan<'_>, subscribers: &mut Subscribers) -> anyhow::Result<Outcome> {
    let mut senders = Vec::new();
    for _ in 0..plan.publishers.max(1) {
        senders.push(plan.target.connect().await?);
    }
    let start = Instant::now();
    let (target, phase, messages) = (plan.target.clone(), plan.phase, plan.messages);
    let publishing = tokio::spawn(async move {
        match plan.pace {
            Pace::Burst => fanout_publish::burst(target, senders, phase, messages, start).await,
            Pace::Rate(rate) => {
                fanout_publish::paced(target, senders, phase, messages, rate, start).await
            }
        }
    });
    tokio::pin!(publishing);
    let mut published: Option<Published> = None;
    let mut outcome = Outcome {
        expected: 0,
        received: 0,
        elapsed: Duration::ZERO,
        publishing: Duration::ZERO,
        failed: Default::default(),
        latency: Histogram::new(3)?,
        send_lag: Histogram::new(3)?,
        cut_off: 0,
        cut_off_reason: None,
    };
    let mut last = start;
    let mut deadline = tokio::time::Instant::now() + plan.idle;
    loop {
        if let Some(published) = &published {
            if outcome.received >= expected(published, subscribers) {
                break;
            }
        }
        tokio::select! {
            result = &mut publishing, if published.is_none() => {
                published = Some(result??);
                deadline = tokio::time::Instant::now() + plan.idle;
            }
            event = subscribers.next_event(deadline) => match event {
                None if published.is_some() => break,
                None => anyhow::bail!("no delivery for {:?} while publishing", plan.idle),
                Some(Event::Deliveries { seqs, at }) => {
                    for seq in seqs {
                        if seq >> 32 != plan.phase {
                            continue;
                        }
                        outcome.received += 1;
                        last = last.max(at);
                        if let Pace::Rate(rate) = plan.pace {
                            let sent = start + Duration::from_secs_f64((seq & 0xffff_ffff) as f64 / rate);
                            let _ = outcome.latency.record(at.saturating_duration_since(sent).as_micros() as u64);
                        }
                    }
                    deadline = tokio::time::Instant::now() + plan.idle;
                }
                Some(Event::Closed { reason, .. }) => {
                    outcome.cut_off += 1;
                    outcome.cut_off_reason.get_or_insert(reason);
                }
            },
        }
    }
    let published = published.ok_or_else(|| anyhow::anyhow!("publishing did not end"))?;
    outcome.expected = expected(&published, subscribers);
    outcome.elapsed = last.saturating_duration_since(start);
    outcome.publishing = published.elapsed;
    outcome.failed = published.failed;
    outcome.send_lag = published.send_lag;
    Ok(outcome)
}

/// Deliveries the accepted messages make: every subscriber gets the 'a' messages, only those
/// without a selector get the 'b' ones.
fn expected(published: &Published, subscribers: &Subscribers) -> u64 {
    let all = (subscribers.with_selector() + subscribers.without_selector()) as u64;
    published.kind_a * all + published.kind_b * subscribers.without_selector() as u64
}
