//! The middleware that records every messaging request in the [`IngestMetrics`] of the state.
//!
//! [`IngestMetrics`]: crate::metrics::IngestMetrics

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use std::time::Instant;

use crate::state::IngestState;

/// Records one request. The route label is the matched pattern without its URL-form prefix, so
/// it stays a short, fixed set (never a channel or message id).
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
        metrics.observe(route, &method, res.status().as_str(), started.elapsed());
    }
    Ok(res)
}
