//! Driving herald's `POST .../messaging/<channel>` over HTTP/1.1 keep-alive connections, one per
//! concurrent publisher, with a bare hyper client so the load generator takes as little of the
//! shared CPU as it can: closed loop at a fixed concurrency (the peak rate), or open loop at a
//! fixed rate (latency below saturation).

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// What one phase measured.
pub struct Run {
    pub accepted: u64,
    pub failed: u64,
    /// Why publishes failed: an HTTP status, or the transport error.
    pub failures: std::collections::BTreeMap<String, u64>,
    pub elapsed: Duration,
    /// Latency of accepted publishes, µs.
    pub latency: Histogram<u64>,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

pub fn publish_body(message_bytes: usize) -> serde_json::Value {
    serde_json::json!({ "message": "x".repeat(message_bytes), "headers": {"bench": "1"} })
}

/// Where to publish: `http://host:port/<path>`.
#[derive(Clone)]
pub struct Target {
    authority: String,
    path: String,
    body: Bytes,
    /// Sent as `user-token`: the publishes run as a logged-in user.
    user_token: Option<String>,
}

impl Target {
    pub fn new(root: &str, body: &serde_json::Value) -> anyhow::Result<Self> {
        let rest = root
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("--url must start with http://"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Self {
            authority: authority.to_string(),
            path: format!("/{path}/messaging/bench"),
            body: Bytes::from(serde_json::to_vec(body)?),
            user_token: None,
        })
    }

    /// The same target, publishing with `user-token: token`.
    pub fn with_user_token(mut self, token: Option<String>) -> Self {
        self.user_token = token;
        self
    }

    pub async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.authority).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// One publish of this target's body on `sender`: Ok(None) when herald accepted it,
    /// Ok(Some(status)) when it answered an error.
    async fn publish(&self, sender: &mut SendRequest<Full<Bytes>>) -> anyhow::Result<Option<u16>> {
        self.publish_body(sender, self.body.clone()).await
    }

    /// One publish of `body` on `sender`.
    pub async fn publish_body(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        body: Bytes,
    ) -> anyhow::Result<Option<u16>> {
        sender.ready().await?;
        let mut request = hyper::Request::post(self.path.as_str())
            .header("host", self.authority.as_str())
            .header("content-type", "application/json");
        if let Some(token) = &self.user_token {
            request = request.header("user-token", token.as_str());
        }
        let request = request.body(Full::new(body))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        Ok((!status.is_success()).then_some(status.as_u16()))
    }
}

/// A short untimed run, so connections and herald's own warm-up are not measured.
pub async fn warm_up(target: &Target, concurrency: usize) -> anyhow::Result<()> {
    let run = run_closed(target, concurrency, Duration::from_secs(2)).await?;
    anyhow::ensure!(
        run.accepted > 0,
        "herald accepted no publish during warm-up ({} failed)",
        run.failed
    );
    Ok(())
}

/// `concurrency` publishers, each sending its next publish when the last is answered.
pub async fn run_closed(
    target: &Target,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = target.connect().await?;
            let mut latency = Histogram::<u64>::new(3)?;
            let mut accepted = 0u64;
            let mut failures = std::collections::BTreeMap::<String, u64>::new();
            while started.elapsed() < duration {
                let sent = Instant::now();
                match target.publish(&mut sender).await {
                    Ok(None) => {
                        accepted += 1;
                        let _ = latency.record(sent.elapsed().as_micros() as u64);
                    }
                    Ok(Some(status)) => *failures.entry(format!("HTTP {status}")).or_default() += 1,
                    Err(err) => {
                        *failures.entry(err.to_string()).or_default() += 1;
                        sender = target.connect().await?;
                    }
                }
            }
            anyhow::Ok((accepted, failures, latency))
        }));
    }
    let mut run = Run {
        accepted: 0,
        failed: 0,
        failures: Default::default(),
        elapsed: Duration::ZERO,
        latency: Histogram::new(3)?,
    };
    for task in tasks {
        let (accepted, failures, latency) = task.await??;
        run.accepted += accepted;
        for (why, n) in failures {
            run.failed += n;
            *run.failures.entry(why).or_default() += n;
        }
        run.latency.add(latency)?;
    }
    run.elapsed = started.elapsed();
    Ok(run)
}

/// Publishes at `rate` per second for `duration`, whatever the answers' latency (open loop): each
/// tick takes an idle connection from a pool, opening one when none is idle.
pub async fn run_open(target: &Target, rate: f64, duration: Duration) -> anyhow::Result<Run> {
    let target = target.clone();
    let idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>> = Arc::default();
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let counts = Arc::new(Mutex::new((
        0u64,
        std::collections::BTreeMap::<String, u64>::new(),
    )));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    while started.elapsed() < duration {
        ticker.tick().await;
        let (target, idle, latency, counts) = (
            target.clone(),
            idle.clone(),
            latency.clone(),
            counts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // Skip connections herald closed while they sat idle (its keep-alive timeout), as any
            // pooling HTTP client does: they are not failed publishes.
            let pooled = {
                let mut idle = idle.lock().await;
                let mut found = None;
                while let Some(sender) = idle.pop() {
                    if !sender.is_closed() {
                        found = Some(sender);
                        break;
                    }
                }
                found
            };
            let sent = Instant::now();
            let result = match pooled {
                Some(sender) => Ok(sender),
                None => target.connect().await,
            };
            let result = match result {
                Ok(mut sender) => target.publish(&mut sender).await.map(|r| (r, sender)),
                Err(err) => Err(err),
            };
            let micros = sent.elapsed().as_micros() as u64;
            let mut counts = counts.lock().await;
            match result {
                Ok((None, sender)) => {
                    counts.0 += 1;
                    let _ = latency.lock().await.record(micros);
                    idle.lock().await.push(sender);
                }
                Ok((Some(status), sender)) => {
                    *counts.1.entry(format!("HTTP {status}")).or_default() += 1;
                    idle.lock().await.push(sender);
                }
                Err(err) => *counts.1.entry(err.to_string()).or_default() += 1,
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let (accepted, failures) = counts.lock().await.clone();
    let latency = latency.lock().await.clone();
    Ok(Run {
        accepted,
        failed: failures.values().sum(),
        failures,
        elapsed: started.elapsed(),
        latency,
    })
}
