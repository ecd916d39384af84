//! What the fan-out benchmark reads besides its own clients, around each phase, to tell what
//! bounds the result: the dispatcher's live metrics (deliveries it handed to connections, and its
//! own delay from publication to that hand-off) and the CPU time each process used.

use crate::scrape::{metrics_text, sum_of};

/// The dispatcher's live counters and hand-off delay histogram at one instant.
#[derive(Clone, Default)]
pub struct Live {
    delivered: f64,
    filtered: f64,
    dropped: f64,
    /// Cumulative counts of `herald_live_end_to_end_seconds`, by upper bound in seconds.
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

impl Live {
    pub async fn scrape(root: &str) -> anyhow::Result<Self> {
        let text = metrics_text(root).await?;
        let outcome = |name: &str| -> f64 {
            text.lines()
                .filter(|l| l.starts_with("herald_live_deliveries_total{"))
                .filter(|l| l.contains(&format!("outcome=\"{name}\"")))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        let buckets = text
            .lines()
            .filter_map(|l| l.strip_prefix("herald_live_end_to_end_seconds_bucket{le=\""))
            .filter_map(|l| {
                let (le, rest) = l.split_once('"')?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, rest.rsplit(' ').next()?.parse().ok()?))
            })
            .collect();
        Ok(Self {
            delivered: outcome("delivered"),
            filtered: outcome("filtered"),
            dropped: outcome("dropped_slow"),
            buckets,
            sum: sum_of(&text, "herald_live_end_to_end_seconds_sum"),
            count: sum_of(&text, "herald_live_end_to_end_seconds_count"),
        })
    }

    /// What happened between `self` (before a phase) and `after`.
    pub fn until(&self, after: &Live) -> LiveDelta {
        let count = after.count - self.count;
        let bound = |q: f64| -> f64 {
            for (i, (le, cumulative)) in after.buckets.iter().enumerate() {
                let before = self.buckets.get(i).map_or(0.0, |b| b.1);
                if cumulative - before >= q * count {
                    return *le;
                }
            }
            f64::INFINITY
        };
        LiveDelta {
            delivered: (after.delivered - self.delivered) as u64,
            filtered: (after.filtered - self.filtered) as u64,
            dropped: (after.dropped - self.dropped) as u64,
            mean_handoff_ms: if count > 0.0 {
                1000.0 * (after.sum - self.sum) / count
            } else {
                0.0
            },
            p50_bound_ms: 1000.0 * bound(0.5),
            p99_bound_ms: 1000.0 * bound(0.99),
        }
    }
}

/// The dispatcher's view of one phase.
pub struct LiveDelta {
    /// Messages herald put into connections' buffers.
    pub delivered: u64,
    /// Offers a selector turned down.
    pub filtered: u64,
    /// Offers dropped, their connection cut off for being slow.
    pub dropped: u64,
    /// herald's own delay from publication to hand-off to the connections, mean and the bucket
    /// bounds of its p50 and p99 (the histogram's resolution: 1, 2.5, 5, 10, 25 ms...).
    pub mean_handoff_ms: f64,
    pub p50_bound_ms: f64,
    pub p99_bound_ms: f64,
}

/// CPU seconds (user + system) used so far by each watched process: `name=pid` pairs, and this
/// benchmark itself as "bench".
#[derive(Clone)]
pub struct Cpu {
    seconds: Vec<(String, f64)>,
}

impl Cpu {
    pub fn sample(watched: &[(String, u32)]) -> Self {
        let mut seconds = vec![("bench".to_string(), cpu_seconds("self").unwrap_or(0.0))];
        for (name, pid) in watched {
            seconds.push((name.clone(), cpu_seconds(&pid.to_string()).unwrap_or(0.0)));
        }
        Self { seconds }
    }

    /// Each process's share of one core between `self` and `after`, `wall` seconds apart:
    /// `name 1.23` meaning 123% of a core.
    pub fn shares_until(&self, after: &Cpu, wall: f64) -> String {
        self.seconds
            .iter()
            .zip(&after.seconds)
            .map(|((name, before), (_, now))| format!("{name} {:.2}", (now - before) / wall))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `name=pid` as given on the command line.
pub fn parse_watch(text: &str) -> Result<(String, u32), String> {
    let (name, pid) = text
        .split_once('=')
        .ok_or_else(|| format!("expected name=pid, got {text}"))?;
    let pid = pid.parse().map_err(|_| format!("not a pid: {pid}"))?;
    Ok((name.to_string(), pid))
}

/// utime + stime of `/proc/<pid>/stat`, in seconds (Linux reports clock ticks of 1/100 s to
/// user space).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the line; the list starts at field 3.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}
