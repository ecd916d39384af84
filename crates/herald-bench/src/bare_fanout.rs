//! `herald-bench bare-fanout`: the fan-out benchmark's baseline, the least a server must do to
//! serve its load, so that what this machine allows at all is measured in the same run as herald.
//!
//! One process takes the benchmark's publishes over HTTP and writes each to the WebSocket
//! subscribers whose selector it satisfies, in the frames herald sends. It does nothing else: no
//! broker between publish and delivery (so nothing survives a crash), no authentication, no
//! selector language (the only selector it knows is the benchmark's `kind = 'a'`), no metrics,
//! no limit on a slow subscriber's buffer. Each connection writes everything queued for it with
//! one flush. `herald-bench fanout --bare` runs against it unchanged.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::fanout_clients::SELECTOR;

/// A message rendered once, in herald's delivered shape, shared by every subscriber's queue.
type Rendered = Arc<String>;

struct Subscriber {
    /// Whether it subscribed with the benchmark's selector (`kind = 'a'`).
    kind_a_only: bool,
    sender: mpsc::UnboundedSender<Rendered>,
}

#[derive(Default)]
struct Server {
    subscribers: Mutex<Vec<Subscriber>>,
    published: AtomicU64,
}

/// Serves until the process is stopped.
pub async fn run(listen: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let server = Arc::new(Server::default());
    println!("bare fan-out server on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(server.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> anyhow::Result<Response<Full<Bytes>>> {
    let path = req.uri().path().to_string();
    if req.method() == Method::POST && path.contains("/messaging/") {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(match server.publish(&body) {
            Ok(id) => respond(
                StatusCode::OK,
                format!(r#"{{"messageId":"{id}","status":"published"}}"#),
            ),
            Err(err) => respond(
                StatusCode::BAD_REQUEST,
                format!(r#"{{"code":8002,"message":"{err}"}}"#),
            ),
        });
    }
    if path.ends_with("/messaging/ws") {
        if let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) {
            let accept = derive_accept_key(key.as_bytes());
            tokio::spawn(subscriber(server, req));
            let mut response = respond(StatusCode::SWITCHING_PROTOCOLS, String::new());
            let headers = response.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            headers.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept)?);
            return Ok(response);
        }
    }
    Ok(respond(
        StatusCode::NOT_FOUND,
        r#"{"code":404,"message":"no such route"}"#.into(),
    ))
}

fn respond(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

impl Server {
    /// Renders `{"message", "headers"}` once and queues it for every subscriber it selects.
    fn publish(&self, body: &[u8]) -> anyhow::Result<String> {
        let request: serde_json::Value = serde_json::from_slice(body)?;
        let n = self.published.fetch_add(1, Ordering::Relaxed);
        // As long as herald's ids: "message:" and a UUID.
        let id = format!("message:{:08X}-0000-4000-8000-{:012X}", n >> 48, n);
        let headers = request.get("headers").cloned().unwrap_or_default();
        let kind_a = headers.get("kind").and_then(|k| k.as_str()) == Some("a");
        let rendered: Rendered = Arc::new(
            serde_json::json!({
                "messageId": id,
                "data": request.get("message"),
                "publishedAt": crate::scheduler::now_ms(),
                "publisherId": null,
                "headers": headers,
            })
            .to_string(),
        );
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subscribers.retain(|s| {
            if s.kind_a_only && !kind_a {
                return !s.sender.is_closed();
            }
            s.sender.send(rendered.clone()).is_ok()
        });
        Ok(id)
    }
}

/// One WebSocket subscriber: its subscribe frame, then every message queued for it.
async fn subscriber(server: Arc<Server>, req: Request<Incoming>) {
    let Ok(upgraded) = hyper::upgrade::on(req).await else {
        return;
    };
    let mut socket =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        return;
    };
    let Ok(subscribe) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    // The subscription's id as a JSON string, spliced into every frame (as herald does).
    let tag = subscribe["id"].to_string();
    let (sender, mut queue) = mpsc::unbounded_channel();
    server
        .subscribers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Subscriber {
            kind_a_only: subscribe["selector"].as_str() == Some(SELECTOR),
            sender,
        });
    let answer = format!(r#"{{"type":"subscribed","id":{tag}}}"#);
    if socket.send(Message::text(answer)).await.is_err() {
        return;
    }
    let frame = |message: &str| {
        Message::text(format!(
            r#"{{"type":"message","id":{tag},"message":{message}}}"#
        ))
    };
    loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            first = queue.recv() => {
                let Some(first) = first else { return };
                // Everything already queued goes out with the first, in one flush.
                if socket.feed(frame(&first)).await.is_err() {
                    return;
                }
                while let Ok(next) = queue.try_recv() {
                    if socket.feed(frame(&next)).await.is_err() {
                        return;
                    }
                }
                if socket.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}
