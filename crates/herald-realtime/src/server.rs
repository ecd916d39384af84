//! The realtime listener: a small hyper server that hands each request to its app's socket.io
//! service (socketioxide is a tower service, not an actix one, hence a listener of its own),
//! after its CORS check (`cors`). The services follow the configuration: an app a reload adds
//! gets its own at once, and the connections of the others are left as they are (an app a
//! reload removes keeps its service, whose handshakes are then refused, and its sessions hear of
//! the reload and end).
//!
//! On shutdown it drains as the HTTP server does: it stops accepting, closes every socket.io
//! session (each client gets Engine.IO's close packet, on which the SDKs reconnect, to another
//! node; and the connection's session ends: its subscriptions and presence go as when the client
//! leaves), lets each HTTP connection finish its
//! request and close (hyper's graceful shutdown), and waits for all of it up to the drain
//! timeout, past which what is left is aborted.

use engineioxide::service::NotFoundService;
use http_body_util::Either;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::service::SocketIoService;
use socketioxide::SocketIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::cors::{self, Cors};
use crate::identity::Identity;
use crate::session::{self, Opening};
use crate::tasks::Tasks;
use herald_auth::Apps;
use herald_hub::Hub;

type AppService = SocketIoService<NotFoundService>;

/// Every app's socket.io service, by the app id of its path, and each one's socket.io instance,
/// closed at shutdown. Both grow when a reload adds an app.
#[derive(Default)]
struct Services {
    by_app: RwLock<HashMap<String, AppService>>,
    ios: Mutex<Vec<SocketIo>>,
}

impl Services {
    fn get(&self, app: &str) -> Option<AppService> {
        self.by_app
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(app)
            .cloned()
    }

    fn add(&self, app: &str, service: AppService, io: SocketIo) {
        self.by_app
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app.to_string(), service);
        self.ios.lock().unwrap_or_else(|e| e.into_inner()).push(io);
    }

    fn has(&self, app: &str) -> bool {
        self.by_app
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(app)
    }
}

/// What every app's service shares.
#[derive(Clone)]
struct Shared {
    apps: Arc<Apps>,
    hub: Arc<Hub>,
    /// The sessions' tasks, waited for at shutdown.
    sessions: Tasks,
    /// Ends every session at shutdown.
    closing: CancellationToken,
}

/// The realtime listener and one socket.io service per app.
pub struct RealtimeServer {
    listener: std::net::TcpListener,
    services: Arc<Services>,
    /// Answers requests for no app: any app's service, which answers 404 for a path not its own.
    fallback: AppService,
    shared: Shared,
}

impl RealtimeServer {
    /// Serves every app of `apps` on `listener`, delivering through `hub`; `None` without apps.
    pub fn new(listener: std::net::TcpListener, apps: Arc<Apps>, hub: Arc<Hub>) -> Option<Self> {
        let shared = Shared {
            apps,
            hub,
            sessions: Tasks::default(),
            closing: CancellationToken::new(),
        };
        let services = Arc::new(Services::default());
        add_new_apps(&shared, &services);
        let fallback = services
            .by_app
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .next()?
            .clone();
        Some(Self {
            listener,
            services,
            fallback,
            shared,
        })
    }

    /// Serves until `shutdown`, then drains the connections for up to `drain`.
    pub async fn run(self, shutdown: CancellationToken, drain: Duration) {
        let listener = match self
            .listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(self.listener))
        {
            Ok(listener) => listener,
            Err(err) => {
                tracing::error!(error = %err, "cannot serve the realtime listener");
                return;
            }
        };
        let connections = Tasks::default();
        let watcher = tokio::spawn(follow_reloads(
            self.shared.clone(),
            self.services.clone(),
            shutdown.clone(),
        ));
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors, say: back off rather than spin on the error.
                        tracing::warn!(error = %err, "realtime accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            if let Err(err) = stream.set_nodelay(true) {
                // The connection works without it, its small frames a little later.
                tracing::warn!(error = %err, "cannot set TCP_NODELAY on a realtime connection");
            }
            let (services, fallback) = (self.services.clone(), self.fallback.clone());
            let apps = self.shared.apps.clone();
            connections.spawn(serve(stream, services, fallback, apps, shutdown.clone()));
        }
        drop(listener);
        // No service is added once shutdown began: every one is closed below.
        if let Err(err) = watcher.await {
            tracing::error!(error = %err, "the realtime reload watcher failed");
        }
        let ios: Vec<SocketIo> =
            std::mem::take(&mut *self.services.ios.lock().unwrap_or_else(|e| e.into_inner()));
        let drained = tokio::time::timeout(drain, async {
            // Every connection's task saw the token too and is finishing its request. socketioxide
            // forgets its namespaces before it closes their sockets, so the sessions never hear
            // of it: they are told apart.
            self.shared.closing.cancel();
            futures_util::future::join_all(ios.iter().map(SocketIo::close)).await;
            connections.join_all().await;
            self.shared.sessions.join_all().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                ?drain,
                "realtime connections still open at the drain timeout are dropped"
            );
        }
    }
}

/// Serves one connection; at `shutdown` it finishes the request in progress and closes. An
/// upgraded (WebSocket) connection has left hyper by then: socket.io's close ends it.
async fn serve(
    stream: tokio::net::TcpStream,
    services: Arc<Services>,
    fallback: AppService,
    apps: Arc<Apps>,
    shutdown: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req| {
        let app = req.uri().path().trim_start_matches('/');
        let app = app.split('/').next().unwrap_or_default();
        let cors = cors::check(&req, &apps.current(), app);
        let mut service = services.get(app).unwrap_or_else(|| fallback.clone());
        async move {
            match cors {
                Cors::Answer(response) => Ok::<_, Infallible>(response.map(Either::Right)),
                Cors::Serve(origin) => {
                    let mut response = service.call(req).await?;
                    if let Some(origin) = origin {
                        cors::allow(&mut response, origin);
                    }
                    Ok(response.map(Either::Left))
                }
            }
        }
    });
    let connection = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => Some(served),
        _ = shutdown.cancelled() => None,
    };
    let served = match served {
        Some(served) => served,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = served {
        // A client that goes away mid-request, most often: nothing to do but say so.
        tracing::debug!(error = %err, "a realtime connection ended with an error");
    }
}

/// Adds a service for each app of the registry that has none yet.
fn add_new_apps(shared: &Shared, services: &Services) {
    let registry = shared.apps.current();
    for id in registry.ids() {
        if !services.has(id) {
            let (service, io) = app_service(shared, id);
            services.add(id, service, io);
        }
    }
}

/// Serves the apps each reload adds, until `shutdown`.
async fn follow_reloads(shared: Shared, services: Arc<Services>, shutdown: CancellationToken) {
    let mut changes = shared.apps.changes();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                add_new_apps(&shared, &services);
            }
        }
    }
}

/// The socket.io service of the app `id`: its HTTP path `/<id>/`, its namespace `/<id>`.
fn app_service(shared: &Shared, id: &str) -> (AppService, SocketIo) {
    let (service, io) = SocketIo::builder().req_path(format!("/{id}/")).build_svc();
    let namespace = format!("/{id}");
    // socketioxide acknowledges CONNECT after its middleware and runs the handler in a task of its
    // own: the event handlers are set up in the middleware, so an event the client sends right
    // after the acknowledgement is never missed.
    let (shared, app) = (shared.clone(), id.to_string());
    let open = move |socket: SocketRef| {
        // Listening to reloads before the handshake is checked: one in between is heard of.
        let changes = shared.apps.changes();
        let opened = Identity::handshake(&socket, &shared.apps.current(), &app).map(|identity| {
            let opening = Opening {
                hub: shared.hub.clone(),
                apps: shared.apps.clone(),
                app: app.clone(),
                identity,
                changes,
            };
            session::connect(socket, opening, &shared.sessions, shared.closing.clone())
        });
        async move { opened }
    };
    io.ns(namespace, (async |_: SocketRef| {}).with(open));
    // socket.io 2 clients (Engine.IO v3) are joined to the main namespace before their own;
    // without one the server would end their session. Nothing is served there. (They also put
    // their query in the CONNECT packet's namespace: herald's patched socketioxide-parser-common
    // drops it, see vendor/socketioxide-parser-common.)
    io.ns("/", async |_: SocketRef| {});
    (service, io)
}
