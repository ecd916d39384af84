//! The realtime listener: a small hyper server that hands each request to its app's socket.io
//! service (socketioxide is a tower service, not an actix one, hence a listener of its own).
//!
//! On shutdown it drains as the HTTP server does: it stops accepting, closes every socket.io
//! session (each client gets Engine.IO's close packet, on which the SDKs reconnect, to another
//! node; and the connection's session ends: its subscriptions and presence go as when the client
//! leaves), lets each HTTP connection finish its
//! request and close (hyper's graceful shutdown), and waits for all of it up to the drain
//! timeout, past which what is left is aborted.

use engineioxide::service::NotFoundService;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::service::SocketIoService;
use socketioxide::SocketIo;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::session;
use crate::tasks::Tasks;
use herald_auth::Apps;
use herald_hub::Hub;

/// The realtime listener and one socket.io service per app.
pub struct RealtimeServer {
    listener: std::net::TcpListener,
    services: Arc<HashMap<String, SocketIoService<NotFoundService>>>,
    /// Answers requests for no app: any app's service, which answers 404 for a path not its own.
    fallback: SocketIoService<NotFoundService>,
    /// Each app's socket.io instance, closed at shutdown.
    ios: Vec<SocketIo>,
    /// The sessions' tasks, waited for at shutdown.
    sessions: Tasks,
    /// Ends every session at shutdown.
    closing: CancellationToken,
}

impl RealtimeServer {
    /// Serves every app of `apps` on `listener`, delivering through `hub`; `None` without apps.
    pub fn new(listener: std::net::TcpListener, apps: Arc<Apps>, hub: Arc<Hub>) -> Option<Self> {
        let sessions = Tasks::default();
        let closing = CancellationToken::new();
        let mut services = HashMap::new();
        let mut ios = Vec::new();
        let registry = apps.current();
        for id in registry.ids() {
            let (service, io) = SocketIo::builder().req_path(format!("/{id}/")).build_svc();
            let namespace = format!("/{id}");
            // socketioxide acknowledges CONNECT after its middleware and runs the handler in a
            // task of its own: the event handlers are set up in the middleware, so an event the
            // client sends right after the acknowledgement is never missed.
            let (apps, hub, app) = (apps.clone(), hub.clone(), id.to_string());
            let (tasks, closing) = (sessions.clone(), closing.clone());
            let open = move |socket: SocketRef| {
                let opened = session::authenticate(&socket, &apps.current(), &app).map(|()| {
                    session::connect(socket, hub.clone(), app.clone(), &tasks, closing.clone())
                });
                async move { opened }
            };
            io.ns(namespace, (async |_: SocketRef| {}).with(open));
            // socket.io 2 clients (Engine.IO v3) are joined to the main namespace before their
            // own; without one the server would end their session. Nothing is served there.
            // (They also put their query in the CONNECT packet's namespace: herald's patched
            // socketioxide-parser-common drops it, see vendor/socketioxide-parser-common.)
            io.ns("/", async |_: SocketRef| {});
            services.insert(id.to_string(), service);
            ios.push(io);
        }
        let fallback = services.values().next()?.clone();
        Some(Self {
            listener,
            services: Arc::new(services),
            fallback,
            ios,
            sessions,
            closing,
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
            connections.spawn(serve(stream, services, fallback, shutdown.clone()));
        }
        drop(listener);
        let drained = tokio::time::timeout(drain, async {
            // Every connection's task saw the token too and is finishing its request. socketioxide
            // forgets its namespaces before it closes their sockets, so the sessions never hear
            // of it: they are told apart.
            self.closing.cancel();
            futures_util::future::join_all(self.ios.iter().map(SocketIo::close)).await;
            connections.join_all().await;
            self.sessions.join_all().await;
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
    services: Arc<HashMap<String, SocketIoService<NotFoundService>>>,
    fallback: SocketIoService<NotFoundService>,
    shutdown: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req| {
        let app = req.uri().path().trim_start_matches('/');
        let app = app.split('/').next().unwrap_or_default();
        let mut service = services.get(app).unwrap_or(&fallback).clone();
        async move { service.call(req).await }
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
