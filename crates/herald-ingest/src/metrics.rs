//! Metrics of the REST API: requests by route pattern, method and status, and their latency.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::time::Duration;

#[derive(Clone)]
pub struct IngestMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl IngestMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "herald_ingest_requests_total",
                "REST requests by route, method and HTTP status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "herald_ingest_request_seconds",
                "REST request latency by route and method",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0,
            ]),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { requests, latency })
    }

    /// Counts one request to `route` (a fixed pattern, never a channel or message id).
    pub(crate) fn observe(&self, route: &str, method: &str, status: &str, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }
}
