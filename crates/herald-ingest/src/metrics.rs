//! Metrics of the REST API: requests by route pattern, method and status, and their latency.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::time::Instant;

use crate::state::IngestState;

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
}

/// Middleware recording every messaging request. The route label is the matched pattern without
/// its URL-form prefix, so it stays a short, fixed set (never a channel or message id).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<IngestState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().as_str().to_string();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let pattern = res.request().match_pattern().unwrap_or_default();
        let route = pattern
            .strip_prefix("/{app_id}/{api_key}")
            .or_else(|| pattern.strip_prefix("/api"))
            .unwrap_or("unmatched");
        let route = if route.is_empty() { "unmatched" } else { route };
        metrics
            .requests
            .with_label_values(&[route, &method, res.status().as_str()])
            .inc();
        metrics
            .latency
            .with_label_values(&[route, &method])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}
