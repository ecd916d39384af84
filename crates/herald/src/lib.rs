//! The herald application: the roles of DESIGN.md composed into one process.
//!
//! [`config`] composes every crate's settings into one [`Config`]. [`Application::build`] starts
//! the backends the configuration names, binds the role's listeners and builds its
//! [`Component`]s; [`Application::run_until_stopped`] runs them until the shutdown token fires or
//! one of them fails. `standalone` is every role at once.
//!
//! The order, which matters for draining:
//! - start: the backends (connecting in the background), then the HTTP server (operations
//!   endpoints and the REST API), then the components in this order: the realtime server, the
//!   live node intake, the dispatcher, the scheduler;
//! - stop: readiness turns false (load balancers stop sending work), the token tells every
//!   component to stop taking work, the HTTP server finishes its requests within the drain
//!   timeout, the components finish theirs in the same order, and the queue connection closes
//!   last, so deliveries settled while draining still reach the broker.
//!
//! A component that fails, panics or ends before shutdown is logged with its name and stops the
//! process: `run_until_stopped` returns an error naming it, and `main` exits non-zero.

mod component;
pub mod config;
pub mod reload;
mod role;
mod server;
pub mod token;

pub use component::Component;
pub use config::Config;
pub use role::Role;

use anyhow::Context;
use herald_auth::Apps;
use herald_backend::Backends;
use herald_dispatcher::{Dispatcher, DispatcherMetrics};
use herald_hub::{Hub, HubSettings, LiveMetrics};
use herald_ingest::metrics::IngestMetrics;
use herald_ingest::IngestState;
use herald_live::LiveState;
use herald_realtime::RealtimeServer;
use herald_runtime::clock::Clock;
use herald_runtime::Health;
use herald_scheduler::{Scheduler, SchedulerMetrics};
use prometheus::Registry;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use component::Running;

/// A built, not yet running, herald process.
pub struct Application {
    role: Role,
    address: SocketAddr,
    realtime_address: Option<SocketAddr>,
    server: actix_web::dev::Server,
    components: Vec<Component>,
    backends: Backends,
    health: Health,
    /// The apps every route and transport reads; [`Application::apps`] reloads them.
    apps: Arc<Apps>,
}

impl Application {
    /// Starts the backends and binds the listeners (port 0 picks a free port).
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
        let backends =
            Backends::start(&config.backend(), role.as_str(), &registry, &health, clock)?;
        let listener = bind("http.listen", config.http.listen)?;
        let address = listener.local_addr()?;
        // The dispatcher role serves the Backendless realtime protocol on its own listener.
        let realtime_listener = match role.dispatches() {
            true => Some(bind("realtime.listen", config.realtime.listen)?),
            false => None,
        };
        let realtime_address = match &realtime_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        // One status lifetime for the whole process: ingest and the scheduler extend records by
        // it, the status store keeps them for it.
        let status_ttl = config.status.ttl;
        let drain = config.drain_timeout();
        // Every route that serves an app (REST or live) authenticates against the same registry.
        let app_registry = config.app_registry()?;
        app_registry.log_open_apps();
        let apps = Apps::new(app_registry);

        let ingest = match role.serves_rest() {
            true => Some(IngestState {
                backends: backends.clone(),
                rules: config.publish.rules(),
                status_ttl,
                body_limit: config.http.body_limit_bytes.get(),
                realtime_url: config.realtime_url(realtime_address),
                metrics: IngestMetrics::register(&registry)?,
            }),
            false => None,
        };
        // The dispatcher role also serves live subscribers, through this node's hub.
        let live = match role.dispatches() {
            true => Some(LiveState {
                hub: Hub::new(
                    backends.live.clone(),
                    backends.presence.clone(),
                    LiveMetrics::register(&registry)?,
                    HubSettings {
                        buffer: config.live.buffer_messages.get(),
                        dedup_window: config.live.dedup_window,
                        dedup_cap: config.live.dedup_cap.get(),
                    },
                    backends.clock.clone(),
                ),
                keep_alive: config.live.keep_alive,
            }),
            false => None,
        };

        let mut components = Vec::new();
        if let (Some(listener), Some(live)) = (realtime_listener, &live) {
            if let Some(realtime) = RealtimeServer::new(listener, apps.clone(), live.hub.clone()) {
                components.push(Component::infallible("realtime server", move |shutdown| {
                    realtime.run(shutdown, drain)
                }));
            }
        }
        if let Some(live) = &live {
            let (bus, hub) = (backends.live.clone(), live.hub.clone());
            components.push(Component::infallible("live node intake", |shutdown| {
                herald_hub::node::run(bus, hub, shutdown)
            }));
        }
        if role.dispatches() {
            let dispatcher = Dispatcher::new(
                backends.clone(),
                DispatcherMetrics::register(&registry)?,
                config.amqp.prefetch.get(),
            );
            components.push(Component::infallible("dispatcher", move |shutdown| {
                dispatcher.run(shutdown, drain)
            }));
        }
        if role.schedules() {
            let scheduler = Scheduler {
                backends: backends.clone(),
                metrics: SchedulerMetrics::register(&registry)?,
                prefetch: config.amqp.prefetch.get(),
                batch: config.scheduler.batch.get(),
                lease: config.scheduler.lease,
                status_ttl,
            };
            components.push(Component::infallible("scheduler", move |shutdown| {
                scheduler.run(shutdown, drain)
            }));
        }

        let server = server::http_server(server::Parts {
            listener,
            workers: config.http.workers,
            drain,
            apps: apps.clone(),
            trusted_proxies: herald_http::TrustedProxies(config.http.trusted_proxies.clone()),
            ingest,
            live,
            registry,
            health: health.clone(),
        })?;
        Ok(Self {
            role,
            address,
            realtime_address,
            server,
            components,
            backends,
            health,
            apps,
        })
    }

    /// The apps this process serves: [`Apps::replace`] applies a new configuration of them
    /// without a restart (what SIGHUP does).
    pub fn apps(&self) -> Arc<Apps> {
        self.apps.clone()
    }

    /// Adds a component, started after the role's own and stopped after them.
    pub fn with_component(mut self, component: Component) -> Self {
        self.components.push(component);
        self
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

    /// Serves until `shutdown` fires or a component fails, then shuts down gracefully (in the
    /// order of the crate's docs). Returns the first failure, naming its component.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let server = self.server.handle();
        let mut serving = tokio::spawn(self.server);
        let mut running = Running::spawn(self.components, &shutdown);
        let mut failure = None;
        let mut served = false;
        tokio::select! {
            _ = shutdown.cancelled() => {}
            ended = &mut serving => {
                served = true;
                failure = failed("http server", http_outcome(ended), &shutdown);
            }
            (name, ended) = running.first_end() => failure = failed(name, ended, &shutdown),
        }
        // Report not ready first, so load balancers stop sending work while we drain.
        self.health.set_stopping();
        shutdown.cancel();
        server.stop(true).await;
        if !served {
            if let Some(err) = failed("http server", http_outcome(serving.await), &shutdown) {
                failure.get_or_insert(err);
            }
        }
        for (name, ended) in running.stop().await {
            if let Some(err) = failed(name, ended, &shutdown) {
                failure.get_or_insert(err);
            }
        }
        self.backends.queue.close().await;
        tracing::info!("herald stopped");
        match failure {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn bind(field: &str, address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).with_context(|| format!("{field}: cannot listen on {address}"))
}

fn http_outcome(ended: Result<std::io::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    component::outcome(ended.map(|served| served.map_err(anyhow::Error::from)))
}

/// The error a component's end is, logged: any failure, or an end before shutdown.
fn failed(
    name: &'static str,
    ended: anyhow::Result<()>,
    shutdown: &CancellationToken,
) -> Option<anyhow::Error> {
    let err = match ended {
        Ok(()) if shutdown.is_cancelled() => return None,
        Ok(()) => anyhow::anyhow!("stopped before shutdown"),
        Err(err) => err,
    };
    tracing::error!(
        component = name,
        error = format!("{err:#}"),
        "component failed, stopping herald"
    );
    Some(err.context(format!("the {name} failed")))
}
