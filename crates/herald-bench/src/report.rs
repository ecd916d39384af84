//! The benchmark's printed figures.

use crate::http::Run;

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn latency_line(label: &str, run: &Run) {
    let h = &run.latency;
    println!(
        "{label:<34} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   ({} accepted, {} failed)",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        run.accepted,
        run.failed
    );
    for (why, n) in &run.failures {
        println!("{:<34} {n} failed: {why}", "");
    }
}

pub fn print(bare_rates: &[f64], herald_runs: &[Run], half: &Run) {
    let bare = median(bare_rates.to_vec());
    let herald = median(herald_runs.iter().map(Run::rate).collect());
    let ratios: Vec<f64> = bare_rates
        .iter()
        .zip(herald_runs)
        .map(|(b, h)| h.rate() / b)
        .collect();
    println!();
    println!("bare lapin confirmed publishes (1 channel)  {bare:>9.0} /s  (median)");
    println!("herald POST .../messaging/<channel>         {herald:>9.0} /s  (median)");
    println!(
        "ratio herald / bare                          {:>9.2}     (median of per-round ratios)",
        median(ratios)
    );
    let peak = herald_runs
        .iter()
        .max_by(|a, b| a.rate().total_cmp(&b.rate()))
        .expect("at least one round");
    latency_line("herald latency at peak (best round)", peak);
    latency_line(
        &format!("herald latency at {:.0}/s (half peak)", half.rate()),
        half,
    );
}

/// One scheduler run, in the same shape as the BullMQ script's line.
pub fn lateness_line(label: &str, count: usize, spread_ms: i64, run: &crate::scheduler::Lateness) {
    let h = &run.histogram;
    let memory = run
        .bytes_per_pending
        .map(|b| {
            let beyond = b - run.payload_bytes as f64;
            format!(
                ", {b:.0} B of Redis per pending message ({beyond:.0} B beyond its {} B payload)",
                run.payload_bytes
            )
        })
        .unwrap_or_default();
    println!(
        "{label:<28} {count} due over {spread_ms} ms: lateness p50 {} ms, p99 {} ms, max {} ms; drained {} ms after the last due time{memory}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.max(),
        run.drain_ms
    );
}
