//! The HTTP server of a role: the operations endpoints on every role, the live routes (SSE,
//! WebSocket) on a dispatcher, the REST API on ingest, all on one listener.

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use herald_auth::Apps;
use herald_http::http_error::route_not_found;
use herald_http::TrustedProxies;
use herald_ingest::IngestState;
use herald_live::LiveState;
use herald_runtime::Health;
use prometheus::Registry;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// What the HTTP server serves.
pub(crate) struct Parts {
    pub listener: TcpListener,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    pub drain: Duration,
    pub apps: Arc<Apps>,
    pub trusted_proxies: TrustedProxies,
    pub ingest: Option<IngestState>,
    pub live: Option<LiveState>,
    pub registry: Registry,
    pub health: Health,
}

/// The server, bound and built; it serves once its future is polled.
pub(crate) fn http_server(parts: Parts) -> std::io::Result<actix_web::dev::Server> {
    let Parts {
        listener,
        workers,
        drain,
        apps,
        trusted_proxies,
        ingest,
        live,
        registry,
        health,
    } = parts;
    let apps = web::Data::from(apps);
    let trusted_proxies = web::Data::new(trusted_proxies);
    let ingest = ingest.map(web::Data::new);
    let live = live.map(web::Data::new);
    let mut server = HttpServer::new(move || {
        let (ingest, live) = (ingest.clone(), live.clone());
        App::new()
            .app_data(apps.clone())
            .app_data(trusted_proxies.clone())
            .configure(|cfg| {
                // Before the REST scopes, which would otherwise claim these paths.
                if let Some(state) = live {
                    herald_live::configure(cfg, state);
                }
            })
            .configure(|cfg| herald_runtime::ops::configure(cfg, registry.clone(), health.clone()))
            .configure(|cfg| {
                if let Some(state) = ingest {
                    herald_ingest::configure(cfg, state);
                }
            })
            .default_service(web::to(route_not_found))
            // Outermost: a preflight or a refused origin is answered before any route, and
            // every other answer to a browser, errors included, carries the CORS headers.
            .wrap(from_fn(herald_http::cors::cors))
    })
    // Small frames (live messages, short answers) leave at once instead of waiting for the
    // peer's delayed ACK: up to 40 ms with Nagle's algorithm, actix's default.
    .tcp_nodelay(true)
    .listen(listener)?
    // Signals are the shutdown token's business, not actix's.
    .disable_signals()
    .shutdown_timeout(drain.as_secs().max(1));
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
