//! `herald-bench ingest`: each round measures a bare lapin client's confirmed publishes, then
//! herald's `POST .../messaging/<channel>` at the same concurrency, and, with `--secured-url`,
//! the same publishes to an app with user tokens and permissions, so the cost of security is a
//! ratio measured in one run. Then herald's latency at half its peak.

use std::time::Duration;

use crate::http::{self, Target};
use crate::{bare, report, scrape};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The REST root of a running herald ingest: http://host:port/<app-id>/<api-key>.
    #[arg(long)]
    url: String,
    /// RabbitMQ URL for the bare-client baseline (the broker herald publishes to).
    #[arg(long)]
    amqp_url: String,
    /// Requests (and unconfirmed publishes) in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Size of the published message's payload, in bytes.
    #[arg(long, default_value_t = 256)]
    message_bytes: usize,
    /// Times the pair of peak measurements is repeated (the report gives medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The amqp.prefix of the herald under test: its dispatch queue is emptied before each herald
    /// phase, and its queues are deleted at the end.
    #[arg(long)]
    herald_prefix: String,
    /// The REST root of an app with user tokens and permissions on the same herald: each round
    /// measures it too, right after `--url`, publishing with `--user-token`.
    #[arg(long, requires = "user_token")]
    secured_url: Option<String>,
    /// The user token the publishes to `--secured-url` carry.
    #[arg(long)]
    user_token: Option<String>,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let body = http::publish_body(args.message_bytes);
    let envelope_bytes = bare::envelope_size(&body);
    let duration = Duration::from_secs(args.seconds);
    println!(
        "herald ingest benchmark: {} B message ({} B envelope), concurrency {}, {} s per phase, {} rounds",
        args.message_bytes, envelope_bytes, args.concurrency, args.seconds, args.rounds
    );
    let open = Target::new(&args.url, &body)?;
    let secured = match &args.secured_url {
        Some(url) => Some(Target::new(url, &body)?.with_user_token(args.user_token.clone())),
        None => None,
    };
    http::warm_up(&open, args.concurrency).await?;
    if let Some(secured) = &secured {
        http::warm_up(secured, args.concurrency).await?;
    }

    let mut bare_rates = Vec::new();
    let mut herald_runs = Vec::new();
    let mut secured_rates = Vec::new();
    for round in 1..=args.rounds {
        let bare = bare::run(
            &args.amqp_url,
            &args.herald_prefix,
            envelope_bytes,
            args.concurrency,
            duration,
        )
        .await?;
        bare::purge_dispatch(&args.amqp_url, &args.herald_prefix).await?;
        // The secured app goes first in every other round, so neither side always follows the
        // other's load.
        let secured_first = round % 2 == 0;
        let mut secured_rate = None;
        if let (Some(secured), true) = (&secured, secured_first) {
            secured_rate = Some(secured_phase(&args, secured, duration).await?);
        }
        let before = scrape::snapshot(&args.url).await?;
        let herald = http::run_closed(&open, args.concurrency, duration).await?;
        let (confirm_ms, request_ms) = before.means_until(&scrape::snapshot(&args.url).await?);
        println!(
            "round {round}: bare lapin {:.0}/s, herald {:.0}/s (ratio {:.2}); in herald, mean confirm {confirm_ms:.2} ms of a mean request {request_ms:.2} ms",
            bare,
            herald.rate(),
            herald.rate() / bare
        );
        bare::purge_dispatch(&args.amqp_url, &args.herald_prefix).await?;
        if let (Some(secured), false) = (&secured, secured_first) {
            secured_rate = Some(secured_phase(&args, secured, duration).await?);
        }
        if let Some(rate) = secured_rate {
            println!(
                "round {round}: herald with a user token and permissions {rate:.0}/s (ratio to without {:.3}, {})",
                rate / herald.rate(),
                if secured_first { "measured first" } else { "measured second" }
            );
            secured_rates.push((rate, rate / herald.rate()));
        }
        bare_rates.push(bare);
        herald_runs.push(herald);
    }
    let herald_peak = report::median(herald_runs.iter().map(|r| r.rate()).collect());
    let half = http::run_open(&open, herald_peak / 2.0, duration).await?;
    report::print(&bare_rates, &herald_runs, &half);
    if !secured_rates.is_empty() {
        let rate = report::median(secured_rates.iter().map(|(rate, _)| *rate).collect());
        let ratio = report::median(secured_rates.iter().map(|(_, ratio)| *ratio).collect());
        println!("herald with a user token and permissions  {rate:>9.0} /s  (median)");
        println!("ratio with / without security              {ratio:>9.3}     (median of per-round ratios)");
    }
    Ok(())
}

/// One closed-loop phase of publishes to the secured app; its rate.
async fn secured_phase(args: &Args, secured: &Target, duration: Duration) -> anyhow::Result<f64> {
    let run = http::run_closed(secured, args.concurrency, duration).await?;
    anyhow::ensure!(
        run.failed == 0,
        "the secured app refused publishes: {:?}",
        run.failures
    );
    bare::purge_dispatch(&args.amqp_url, &args.herald_prefix).await?;
    Ok(run.rate())
}
