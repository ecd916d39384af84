//! The herald application: the roles of DESIGN.md composed into one process.
//!
//! [`Application::build`] starts the backends the configuration names, the role's background
//! work (the dispatcher loop) and one HTTP listener serving the operations endpoints plus the
//! role's routes (the REST API for ingest), the scheduler's loops; [`Application::run_until_stopped`] runs it until the
//! shutdown token fires, then stops intake, drains in-flight work within the drain timeout and
//! closes connections. `standalone` is every role at once.

mod role;

pub use role::Role;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use herald_backend::Backends;
use herald_core::publish::PublishRules;
use herald_dispatcher::{Dispatcher, DispatcherMetrics};
use herald_http::http_error::route_not_found;
use herald_http::AppRegistry;
use herald_hub::{Hub, HubSettings, LiveMetrics};
use herald_ingest::metrics::IngestMetrics;
use herald_ingest::IngestState;
use herald_live::LiveState;
use herald_realtime::RealtimeServer;
use herald_runtime::clock::Clock;
use herald_runtime::{Config, Health};
use herald_scheduler::{Scheduler, SchedulerMetrics};
use prometheus::Registry;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A built, not yet running, herald process.
pub struct Application {
    role: Role,
    address: SocketAddr,
    server: actix_web::dev::Server,
    dispatcher: Option<Dispatcher>,
    live: Option<std::sync::Arc<Hub>>,
    realtime: Option<RealtimeServer>,
    realtime_address: Option<SocketAddr>,
    scheduler: Option<Scheduler>,
    backends: Backends,
    health: Health,
    drain: Duration,
}

impl Application {
    /// Starts the backends and binds the HTTP listener (port 0 picks a free port).
    pub async fn build(role: Role, config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(role, config, Clock::system()).await
    }

    /// [`Application::build`] on `clock` (tests drive time with a manual one).
    pub async fn build_with_clock(
        role: Role,
        config: Config,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        if config.in_memory() && role != Role::Standalone {
            anyhow::bail!(
                "the {role} role runs on RabbitMQ and Redis: set amqp.url and redis.url \
                 (HERALD_AMQP__URL, HERALD_REDIS__URL); only standalone runs in memory"
            );
        }
        let registry = Registry::new();
        let health = Health::new();
        let backends = Backends::start(&config, role.as_str(), &registry, &health, clock)?;
        let listener = TcpListener::bind(config.http.listen)
            .with_context(|| format!("http.listen: cannot listen on {}", config.http.listen))?;
        let address = listener.local_addr()?;
        // The dispatcher role serves the Backendless realtime protocol on its own listener.
        let realtime_listener = if role.dispatches() {
            let listener = TcpListener::bind(config.realtime.listen).with_context(|| {
                format!(
                    "realtime.listen: cannot listen on {}",
                    config.realtime.listen
                )
            })?;
            Some(listener)
        } else {
            None
        };
        let realtime_address = match &realtime_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };

        let ingest = if role.serves_rest() {
            Some(web::Data::new(IngestState {
                backends: backends.clone(),
                rules: PublishRules {
                    skew_tolerance_ms: config.publish.skew_tolerance_ms,
                },
                status_ttl: Duration::from_secs(config.status.ttl_seconds),
                body_limit: config.http.body_limit_bytes,
                realtime_url: config.realtime_url(realtime_address),
                metrics: IngestMetrics::register(&registry)?,
            }))
        } else {
            None
        };
        let dispatcher = if role.dispatches() {
            Some(Dispatcher::new(
                backends.clone(),
                DispatcherMetrics::register(&registry)?,
                config.amqp.prefetch,
            ))
        } else {
            None
        };

        // The dispatcher role also serves live subscribers, through this node's hub.
        let live = if role.dispatches() {
            let hub = Hub::new(
                backends.live.clone(),
                backends.presence.clone(),
                LiveMetrics::register(&registry)?,
                HubSettings {
                    buffer: config.live.buffer_messages,
                    dedup_window: Duration::from_secs(config.live.dedup_window_seconds),
                    dedup_cap: 1_000_000,
                },
            );
            Some(web::Data::new(LiveState {
                hub,
                keep_alive: Duration::from_secs(config.live.keep_alive_seconds),
            }))
        } else {
            None
        };
        let live_hub = live.as_ref().map(|state| state.hub.clone());

        let scheduler = if role.schedules() {
            Some(Scheduler {
                backends: backends.clone(),
                metrics: SchedulerMetrics::register(&registry)?,
                prefetch: config.amqp.prefetch,
                batch: config.scheduler.batch,
                lease: Duration::from_millis(config.scheduler.lease_ms),
                status_ttl: Duration::from_secs(config.status.ttl_seconds),
            })
        } else {
            None
        };

        let drain = config.drain_timeout();
        let server_health = health.clone();
        // Every route that serves an app (REST or live) authenticates against the same registry.
        let apps = web::Data::new(AppRegistry::new(&config.effective_apps()));
        let realtime = match (realtime_listener, &live_hub) {
            (Some(listener), Some(hub)) => {
                RealtimeServer::new(listener, apps.clone().into_inner(), hub.clone())
            }
            _ => None,
        };
        let mut server = HttpServer::new(move || {
            let (ingest, live) = (ingest.clone(), live.clone());
            App::new()
                .app_data(apps.clone())
                .configure(|cfg| {
                    // Before the REST scopes, which would otherwise claim these paths.
                    if let Some(state) = live {
                        herald_live::configure(cfg, state);
                    }
                })
                .configure(|cfg| {
                    herald_runtime::ops::configure(cfg, registry.clone(), server_health.clone())
                })
                .configure(|cfg| {
                    if let Some(state) = ingest {
                        herald_ingest::configure(cfg, state);
                    }
                })
                .default_service(web::to(route_not_found))
        })
        // Small frames (live messages, short answers) leave at once instead of waiting for the
        // peer's delayed ACK: up to 40 ms with Nagle's algorithm, actix's default.
        .tcp_nodelay(true)
        .listen(listener)?
        // Signals are the shutdown token's business, not actix's.
        .disable_signals()
        .shutdown_timeout(drain.as_secs().max(1));
        if config.http.workers > 0 {
            server = server.workers(config.http.workers);
        }
        Ok(Self {
            role,
            address,
            server: server.run(),
            dispatcher,
            live: live_hub,
            realtime,
            realtime_address,
            scheduler,
            backends,
            health,
            drain,
        })
    }

    /// The address the HTTP listener is bound to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address of the realtime (socket.io) listener, in a role that serves it.
    pub fn realtime_address(&self) -> Option<SocketAddr> {
        self.realtime_address
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Serves until `shutdown` fires, then shuts down gracefully.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let server = self.server.handle();
        let mut serving = tokio::spawn(self.server);
        let scheduling = self
            .scheduler
            .map(|s| tokio::spawn(s.run(shutdown.clone(), self.drain)));
        let dispatching = self
            .dispatcher
            .map(|d| tokio::spawn(d.run(shutdown.clone(), self.drain)));
        let realtime = self
            .realtime
            .map(|server| tokio::spawn(server.run(shutdown.clone(), self.drain)));
        let live = self.live.map(|hub| {
            tokio::spawn(herald_hub::node::run(
                self.backends.live.clone(),
                hub,
                shutdown.clone(),
            ))
        });
        let served = tokio::select! {
            _ = shutdown.cancelled() => None,
            result = &mut serving => Some(result),
        };
        // Report not ready first, so load balancers stop sending work while we drain.
        self.health.set_stopping();
        shutdown.cancel();
        server.stop(true).await;
        if let Some(dispatching) = dispatching {
            let _ = dispatching.await;
        }
        if let Some(scheduling) = scheduling {
            let _ = scheduling.await;
        }
        if let Some(live) = live {
            let _ = live.await;
        }
        if let Some(realtime) = realtime {
            let _ = realtime.await;
        }
        self.backends.queue.close().await;
        tracing::info!("herald stopped");
        match served {
            Some(result) => result?.context("the HTTP server failed"),
            None => Ok(()),
        }
    }
}
