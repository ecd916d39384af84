//! The realtime listener: a small hyper server that hands each request to its app's socket.io
//! service (socketioxide is a tower service, not an actix one, hence a listener of its own).

use engineioxide::service::NotFoundService;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::service::SocketIoService;
use socketioxide::SocketIo;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::session;
use herald_http::AppRegistry;
use herald_hub::Hub;

/// The realtime listener and one socket.io service per app.
pub struct RealtimeServer {
    listener: std::net::TcpListener,
    services: Arc<HashMap<String, SocketIoService<NotFoundService>>>,
    /// Answers requests for no app: any app's service, which answers 404 for a path not its own.
    fallback: SocketIoService<NotFoundService>,
}

impl RealtimeServer {
    /// Serves every app of `apps` on `listener`, delivering through `hub`; `None` without apps.
    pub fn new(
        listener: std::net::TcpListener,
        apps: Arc<AppRegistry>,
        hub: Arc<Hub>,
    ) -> Option<Self> {
        let mut services = HashMap::new();
        for id in apps.ids() {
            let (service, io) = SocketIo::builder().req_path(format!("/{id}/")).build_svc();
            let namespace = format!("/{id}");
            // socketioxide acknowledges CONNECT after its middleware and runs the handler in a
            // task of its own: the event handlers are set up in the middleware, so an event the
            // client sends right after the acknowledgement is never missed.
            let (apps, hub, app) = (apps.clone(), hub.clone(), id.to_string());
            let open = move |socket: SocketRef| {
                let opened = session::authenticate(&socket, &apps, &app)
                    .map(|()| session::connect(socket, hub.clone(), app.clone()));
                async move { opened }
            };
            io.ns(namespace, (async |_: SocketRef| {}).with(open));
            // socket.io 2 clients (Engine.IO v3) are joined to the main namespace before their
            // own; without one the server would end their session. Nothing is served there.
            // (They also put their query in the CONNECT packet's namespace: herald's patched
            // socketioxide-parser-common drops it, see vendor/socketioxide-parser-common.)
            io.ns("/", async |_: SocketRef| {});
            services.insert(id.to_string(), service);
        }
        let fallback = services.values().next()?.clone();
        Some(Self {
            listener,
            services: Arc::new(services),
            fallback,
        })
    }

    /// Serves until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
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
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors, say: back off rather than spin on the error.
                        tracing::warn!(error = %err, "realtime accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let (services, fallback) = (self.services.clone(), self.fallback.clone());
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let app = req.uri().path().trim_start_matches('/');
                    let app = app.split('/').next().unwrap_or_default();
                    let mut service = services.get(app).unwrap_or(&fallback).clone();
                    async move { service.call(req).await }
                });
                let connection = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                tokio::select! {
                    _ = connection => {}
                    _ = shutdown.cancelled() => {}
                }
            });
        }
    }
}
