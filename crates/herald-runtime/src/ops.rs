//! The operations endpoints every role serves: `/metrics` (Prometheus text), `/healthz` (the
//! process is alive) and `/readyz` (its dependencies are up and it is not shutting down).

use actix_web::{web, HttpResponse};
use prometheus::{Encoder, Registry, TextEncoder};

use crate::health::Health;

/// Adds the operations routes; `registry` and `health` are the role's own.
pub fn configure(cfg: &mut web::ServiceConfig, registry: Registry, health: Health) {
    cfg.app_data(web::Data::new(registry))
        .app_data(web::Data::new(health))
        .route("/metrics", web::get().to(metrics))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn metrics(registry: web::Data<Registry>) -> HttpResponse {
    let mut buf = Vec::new();
    match TextEncoder::new().encode(&registry.gather(), &mut buf) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(buf),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(health: web::Data<Health>) -> HttpResponse {
    let down = health.not_ready().await;
    if down.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "not ready", "down": down}))
    }
}
