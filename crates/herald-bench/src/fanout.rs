//! `herald-bench fanout`: how fast one dispatcher delivers a channel's messages to many WebSocket
//! subscribers, half of them with a selector, and with what end-to-end latency.
//!
//! The subscribers connect once and serve every round (any herald cut off is connected again
//! before the next phase). Each round has two phases: a burst of messages published as fast as
//! ingest takes them, to measure deliveries per second (all must arrive, but for those owed to
//! subscribers herald cut off for falling behind, which the report counts); then messages paced at
//! a fixed rate, to measure the latency from each message's scheduled send to its arrival at each
//! subscriber, in this one process. The report gives each round and the medians.

use std::time::Duration;

use crate::fanout_clients::{Subscribers, SELECTOR};
use crate::fanout_observe::{parse_watch, Cpu, Live};
use crate::fanout_phase::{Outcome, Pace, Plan};
use crate::http::Target;
use crate::report::median;

/// The channel `Target` publishes on.
const CHANNEL: &str = "bench";

#[derive(clap::Args)]
pub struct Args {
    /// The REST root of a running herald ingest (publishes go there):
    /// http://host:port/<app-id>/<api-key>.
    #[arg(long)]
    ingest_url: String,
    /// The REST root of a running herald dispatcher (subscribers connect there).
    #[arg(long)]
    dispatcher_url: String,
    /// WebSocket subscribers of the channel; every other one has the selector `kind = 'a'`.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Messages of the throughput phase, published as fast as ingest answers.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Publishers (HTTP connections) in flight at once, in both phases.
    #[arg(long, default_value_t = 32)]
    publishers: usize,
    /// Messages per second of the latency phase.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds the latency phase publishes.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Times both phases run (the report gives medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds without any delivery after which a phase ends (the throughput phase then fails,
    /// unless subscribers were cut off).
    #[arg(long, default_value_t = 10)]
    idle_seconds: u64,
    /// The server is the bare baseline (`herald-bench bare-fanout`), not herald: it has no
    /// metrics to read.
    #[arg(long)]
    bare: bool,
    /// A process whose CPU use to report per phase, as name=pid (repeatable).
    #[arg(long = "watch", value_parser = parse_watch)]
    watched: Vec<(String, u32)>,
}

/// One round's figures.
struct Round {
    deliveries_per_second: f64,
    /// Subscribers herald cut off during the throughput phase.
    cut_off: usize,
    messages_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    received: f64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cores} cores; {} WebSocket subscribers of one channel, {} of them with the selector {SELECTOR}",
        args.subscribers,
        args.subscribers / 2
    );
    let started = std::time::Instant::now();
    let subscribers = Subscribers::connect(&args.dispatcher_url, CHANNEL, args.subscribers).await?;
    println!(
        "connected and subscribed in {:.1} s; {} publishers; messages alternate kind 'a' and 'b'",
        started.elapsed().as_secs_f64(),
        args.publishers
    );
    let mut bench = Bench {
        target: Target::new(&args.ingest_url, &serde_json::json!({}))?,
        args: &args,
        subscribers,
        phase: 0,
    };
    // Untimed: connections, herald's lazily built state and the broker's queues warm up.
    let warm = bench.phase(100, Pace::Burst).await?;
    ensure_complete("warm-up", &warm)?;

    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let (deliveries_per_second, messages_per_second, cut_off) = bench.throughput(round).await?;
        let (p50_ms, p99_ms, max_ms, received) = bench.latency(round).await?;
        rounds.push(Round {
            deliveries_per_second,
            cut_off,
            messages_per_second,
            p50_ms,
            p99_ms,
            max_ms,
            received,
        });
    }
    summary(&args, &rounds);
    Ok(())
}

/// What the phases share: the subscribers, where to publish, and the number of the last phase.
struct Bench<'a> {
    args: &'a Args,
    target: Target,
    subscribers: Subscribers,
    phase: u64,
}

impl Bench<'_> {
    /// Runs the next phase: `messages` published at `pace`.
    async fn phase(&mut self, messages: usize, pace: Pace) -> anyhow::Result<Outcome> {
        let revived = self.subscribers.revive().await?;
        if revived > 0 {
            println!("    connected {revived} cut-off subscribers again");
        }
        self.phase += 1;
        let idle = Duration::from_secs(self.args.idle_seconds);
        let plan = Plan {
            target: &self.target,
            phase: self.phase,
            messages,
            publishers: self.args.publishers,
            pace,
            // A paced phase may lose deliveries to cut-off subscribers: it ends sooner, and
            // reports the share received instead of failing.
            idle: match pace {
                Pace::Burst => idle,
                Pace::Rate(_) => idle.min(Duration::from_secs(5)),
            },
        };
        crate::fanout_phase::run(plan, &mut self.subscribers).await
    }

    /// The burst phase: deliveries and messages per second, and the subscribers cut off; fails
    /// unless every delivery arrived but for those owed to cut-off subscribers.
    async fn throughput(&mut self, round: usize) -> anyhow::Result<(f64, f64, usize)> {
        let watch = Watch::start(self.args).await?;
        let burst = self.phase(self.args.messages, Pace::Burst).await?;
        let (live, cpu) = watch.finish(self.args).await?;
        ensure_complete(&format!("round {round}"), &burst)?;
        let seconds = burst.elapsed.as_secs_f64();
        let rates = (
            burst.received as f64 / seconds,
            self.args.messages as f64 / seconds,
            burst.cut_off,
        );
        println!(
            "round {round} throughput: {} messages, {} deliveries in {seconds:.2} s: {:.0} deliveries/s, {:.0} messages/s (publishing took {:.2} s)",
            self.args.messages,
            burst.received,
            rates.0,
            rates.1,
            burst.publishing.as_secs_f64(),
        );
        if burst.cut_off > 0 {
            println!(
                "    {} subscribers cut off: {} of {} deliveries received; one's last word: {}",
                burst.cut_off,
                burst.received,
                burst.expected,
                burst.cut_off_reason.as_deref().unwrap_or("-")
            );
        }
        match live {
            Some(live) => println!(
                "    herald handed {} to connections ({} filtered by selectors), its hand-off delay mean {:.1} ms; cpu cores: {cpu}",
                live.delivered, live.filtered, live.mean_handoff_ms
            ),
            None => println!("    cpu cores: {cpu}"),
        }
        Ok(rates)
    }

    /// The paced phase: latency p50, p99 and max in ms, and the share of deliveries received.
    async fn latency(&mut self, round: usize) -> anyhow::Result<(f64, f64, f64, f64)> {
        let (rate, seconds) = (self.args.rate, self.args.seconds);
        let watch = Watch::start(self.args).await?;
        let count = (rate * seconds as f64).round() as usize;
        let paced = self.phase(count, Pace::Rate(rate)).await?;
        let (live, cpu) = watch.finish(self.args).await?;
        let h = &paced.latency;
        let ms = |micros: u64| micros as f64 / 1000.0;
        let (p50, p99, max) = (
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        );
        let received = paced.received as f64 / paced.expected.max(1) as f64;
        println!(
            "round {round} latency at {rate:.0}/s for {seconds} s: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; {} of {} deliveries received ({:.1}%), {} subscribers cut off{}",
            paced.received,
            paced.expected,
            100.0 * received,
            paced.cut_off,
            failures(&paced),
        );
        let lag = ms(paced.send_lag.value_at_quantile(0.99));
        match live {
            Some(live) => println!(
                "    publishes left p99 {lag:.2} ms after their scheduled time; herald handed {} to connections, dropped {} for slow subscribers; its hand-off delay mean {:.1} ms, p50 <= {:.1} ms, p99 <= {:.1} ms; cpu cores: {cpu}",
                live.delivered,
                live.dropped,
                live.mean_handoff_ms,
                live.p50_bound_ms,
                live.p99_bound_ms
            ),
            None => println!(
                "    publishes left p99 {lag:.2} ms after their scheduled time; cpu cores: {cpu}"
            ),
        }
        if let Some(reason) = &paced.cut_off_reason {
            println!("    a cut-off subscriber's last word: {reason}");
        }
        Ok((p50, p99, max, received))
    }
}

/// The medians of the rounds.
fn summary(args: &Args, rounds: &[Round]) {
    let med = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    println!();
    println!(
        "deliveries/s ({} messages, {} subscribers, half with a selector)  {:>9.0} /s   (median of {})",
        args.messages,
        args.subscribers,
        med(|r| r.deliveries_per_second),
        rounds.len()
    );
    println!(
        "messages/s fanned out to all of them                                {:>9.0} /s   (median)",
        med(|r| r.messages_per_second)
    );
    println!(
        "end-to-end latency at {:.0} messages/s    p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   (medians)",
        args.rate,
        med(|r| r.p50_ms),
        med(|r| r.p99_ms),
        med(|r| r.max_ms)
    );
    println!(
        "deliveries received at {:.0} messages/s   {:.1}%   (median)",
        args.rate,
        100.0 * med(|r| r.received)
    );
    let cut_off: usize = rounds.iter().map(|r| r.cut_off).sum();
    if cut_off > 0 {
        println!(
            "subscribers cut off for falling behind in the throughput phases: {cut_off} (their deliveries are not in the rate)"
        );
    }
}

/// Fails unless every publish was accepted and every expected delivery of a phase arrived, but
/// for those owed to subscribers herald cut off (its policy for a connection that falls behind:
/// on an overloaded machine it can be herald's own writer that fell behind).
fn ensure_complete(what: &str, outcome: &Outcome) -> anyhow::Result<()> {
    anyhow::ensure!(
        (outcome.received == outcome.expected || outcome.cut_off > 0)
            && outcome.failed.is_empty(),
        "{what}: {} of {} expected deliveries arrived before none came for the idle timeout; {} subscribers cut off{}{}",
        outcome.received,
        outcome.expected,
        outcome.cut_off,
        outcome
            .cut_off_reason
            .as_ref()
            .map(|r| format!(" (one's last word: {r})"))
            .unwrap_or_default(),
        failures(outcome),
    );
    Ok(())
}

fn failures(outcome: &Outcome) -> String {
    outcome
        .failed
        .iter()
        .map(|(why, n)| format!("; {n} publishes failed: {why}"))
        .collect()
}

/// The dispatcher's metrics (none for the bare server) and the processes' CPU time at a phase's
/// start.
struct Watch {
    live: Option<Live>,
    cpu: Cpu,
    at: std::time::Instant,
}

impl Watch {
    async fn start(args: &Args) -> anyhow::Result<Self> {
        Ok(Self {
            live: Self::live(args).await?,
            cpu: Cpu::sample(&args.watched),
            at: std::time::Instant::now(),
        })
    }

    async fn live(args: &Args) -> anyhow::Result<Option<Live>> {
        if args.bare {
            return Ok(None);
        }
        Ok(Some(Live::scrape(&args.dispatcher_url).await?))
    }

    async fn finish(
        self,
        args: &Args,
    ) -> anyhow::Result<(Option<crate::fanout_observe::LiveDelta>, String)> {
        let cpu = self
            .cpu
            .shares_until(&Cpu::sample(&args.watched), self.at.elapsed().as_secs_f64());
        let live = match (&self.live, Self::live(args).await?) {
            (Some(before), Some(after)) => Some(before.until(&after)),
            _ => None,
        };
        Ok((live, cpu))
    }
}
