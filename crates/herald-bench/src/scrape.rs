//! Reads herald's own `/metrics` around a phase, to split a publish's latency into the broker's
//! confirm and the rest (what bounds the rate), from the same run.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Sums and counts of the two latency histograms at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    confirm_sum: f64,
    confirm_count: f64,
    request_sum: f64,
    request_count: f64,
}

impl Snapshot {
    /// Mean confirm and mean request latency (ms) between `self` (before) and `after`.
    pub fn means_until(&self, after: &Snapshot) -> (f64, f64) {
        let mean = |sum: f64, count: f64| {
            if count > 0.0 {
                1000.0 * sum / count
            } else {
                0.0
            }
        };
        (
            mean(
                after.confirm_sum - self.confirm_sum,
                after.confirm_count - self.confirm_count,
            ),
            mean(
                after.request_sum - self.request_sum,
                after.request_count - self.request_count,
            ),
        )
    }
}

/// The text of `http://<authority>/metrics` of the herald whose REST root is `root`.
pub async fn metrics_text(root: &str) -> anyhow::Result<String> {
    let rest = root.strip_prefix("http://").unwrap_or(root);
    let authority = rest.split('/').next().unwrap_or(rest);
    let stream = TcpStream::connect(authority).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get("/metrics")
        .header("host", authority)
        .body(Empty::<Bytes>::new())?;
    let body = sender
        .send_request(request)
        .await?
        .into_body()
        .collect()
        .await?
        .to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Sums the values of the samples whose line starts with `prefix`.
pub fn sum_of(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Scrapes the publish latency histograms of the herald ingest under test.
pub async fn snapshot(root: &str) -> anyhow::Result<Snapshot> {
    let text = metrics_text(root).await?;
    let value = |prefix: &str| sum_of(&text, prefix);
    Ok(Snapshot {
        confirm_sum: value("herald_amqp_confirm_seconds_sum"),
        confirm_count: value("herald_amqp_confirm_seconds_count"),
        request_sum: value(
            "herald_ingest_request_seconds_sum{method=\"POST\",route=\"/messaging/{channel}\"}",
        ),
        request_count: value(
            "herald_ingest_request_seconds_count{method=\"POST\",route=\"/messaging/{channel}\"}",
        ),
    })
}
