//! `herald-bench ingest`: how fast herald's ingest takes publishes over HTTP, against how fast the
//! same RabbitMQ takes confirmed publishes of the same size from a bare lapin client on one
//! channel, measured in one run. It prints both rates, their ratio, and publish latency at full
//! load and at half of herald's peak rate. A program, not a test: it never fails on slowness.
//! `herald-bench scheduler` measures the scheduler's lateness (`scheduler`), `herald-bench fanout`
//! the live fan-out to WebSocket subscribers (`fanout`, `fanout_clients` for the subscribers,
//! `fanout_phase` for one measured phase, `fanout_publish` for its publishers, `fanout_observe`
//! for herald's metrics and CPU use); `herald-bench bare-fanout` is that benchmark's baseline
//! server (`bare_fanout`).

mod bare;
mod bare_fanout;
mod fanout;
mod fanout_clients;
mod fanout_observe;
mod fanout_phase;
mod fanout_publish;
mod http;
mod ingest;
mod purge;
mod report;
mod scheduler;
mod scrape;

use clap::Parser;

#[derive(Parser)]
enum Bench {
    /// Publish throughput and latency of ingest against a bare lapin client.
    Ingest(ingest::Args),
    /// Lateness of herald's scheduler: messages due evenly over a spread, or all at one instant.
    Scheduler {
        #[arg(long)]
        url: String,
        #[arg(long)]
        amqp_url: String,
        #[arg(long)]
        redis_url: String,
        #[arg(long)]
        herald_prefix: String,
        #[arg(long, default_value_t = 50_000)]
        count: usize,
        /// Milliseconds the due times spread over (0: all due at one instant).
        #[arg(long, default_value_t = 10_000)]
        spread_ms: i64,
        /// Milliseconds from now to the first due time (scheduling must finish before it).
        #[arg(long, default_value_t = 20_000)]
        lead_ms: i64,
        #[arg(long, default_value_t = 256)]
        message_bytes: usize,
        /// Names the run in the printed line.
        #[arg(long, default_value = "herald")]
        label: String,
    },
    /// Deliveries per second and end-to-end latency of live fan-out to WebSocket subscribers.
    Fanout(fanout::Args),
    /// The fan-out baseline: a server doing the least the fan-out benchmark needs (see
    /// `bare_fanout`), to run `fanout --bare` against.
    BareFanout {
        #[arg(long, default_value = "127.0.0.1:18290")]
        listen: String,
    },
    /// Deletes the queues and exchanges of a benchmarked herald (what `ingest` does at its end),
    /// and with `--redis-url` its Redis keys (`<herald-prefix>:*`; the run must have used the
    /// same string as its `redis.key_prefix`).
    Purge {
        #[arg(long)]
        amqp_url: String,
        #[arg(long)]
        herald_prefix: String,
        #[arg(long)]
        redis_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = match Bench::parse() {
        Bench::Ingest(args) => args,
        Bench::Fanout(args) => return fanout::run(args).await,
        Bench::BareFanout { listen } => return bare_fanout::run(&listen).await,
        Bench::Purge {
            amqp_url,
            herald_prefix,
            redis_url,
        } => {
            purge::amqp(&amqp_url, &herald_prefix).await?;
            if let Some(redis_url) = redis_url {
                purge::redis(&redis_url, &herald_prefix).await?;
            }
            return Ok(());
        }
        Bench::Scheduler {
            url,
            amqp_url,
            redis_url,
            herald_prefix,
            count,
            spread_ms,
            lead_ms,
            message_bytes,
            label,
        } => {
            let plan = scheduler::Plan {
                root: &url,
                amqp_url: &amqp_url,
                redis_url: &redis_url,
                prefix: &herald_prefix,
                count,
                spread_ms,
                lead_ms,
                message_bytes,
            };
            let run = scheduler::run(plan).await?;
            report::lateness_line(&label, count, spread_ms, &run);
            return Ok(());
        }
    };
    ingest::run(args).await
}
