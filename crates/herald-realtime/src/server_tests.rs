//! The realtime server's shutdown, against a client speaking Engine.IO by hand.

use futures_util::{SinkExt, StreamExt};
use herald_auth::{AppConfig, AppRegistry, Apps};
use herald_backend::live::MemoryLiveBus;
use herald_backend::store::presence::MemoryPresenceStore;
use herald_hub::{Hub, HubSettings, LiveMetrics};
use herald_runtime::clock::Clock;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use crate::server::RealtimeServer;

const WAIT: Duration = Duration::from_secs(10);

/// A running realtime server.
struct Served {
    address: SocketAddr,
    shutdown: CancellationToken,
    running: JoinHandle<()>,
    metrics: LiveMetrics,
}

impl Served {
    /// The hub's open realtime connections.
    fn open_connections(&self) -> i64 {
        self.metrics
            .connections
            .with_label_values(&["realtime"])
            .get()
    }
}

/// A realtime server for the app `app` (API key `key`) on a hub of in-memory backends, running
/// until the token, draining for up to `drain`.
fn serve(drain: Duration) -> Served {
    let metrics = LiveMetrics::register(&prometheus::Registry::new()).unwrap();
    let hub = Hub::new(
        Arc::new(MemoryLiveBus::new(16)),
        Arc::new(MemoryPresenceStore::new()),
        metrics.clone(),
        HubSettings {
            buffer: 8,
            dedup_window: Duration::from_secs(60),
            dedup_cap: 100,
        },
        Clock::system(),
    );
    let apps = Apps::new(AppRegistry::build(&[AppConfig::with_key("app", "key")], false).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = RealtimeServer::new(listener, apps, hub).expect("one app");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(server.run(shutdown.clone(), drain));
    Served {
        address,
        shutdown,
        running,
        metrics,
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text packet, answering pings on the way.
async fn next_text(socket: &mut Socket) -> String {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a packet in time")
            .expect("the connection is open")
            .expect("a readable packet");
        match message {
            // Engine.IO's ping, answered as a client does.
            Message::Text(text) if text.as_str() == "2" => {
                socket.send(Message::text("3")).await.unwrap();
            }
            Message::Text(text) => return text.to_string(),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_client_connected_at_shutdown_is_closed_cleanly_and_run_returns_before_the_drain_timeout()
{
    let drain = Duration::from_secs(30);
    let served = serve(drain);
    let url = format!(
        "ws://{}/app/?apiKey=key&EIO=4&transport=websocket",
        served.address
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(
        next_text(&mut socket).await.starts_with('0'),
        "Engine.IO open"
    );
    socket.send(Message::text("40/app,")).await.unwrap();
    let connected = next_text(&mut socket).await;
    assert!(connected.starts_with("40/app,"), "{connected}");

    assert_eq!(served.open_connections(), 1, "the session is in the hub");
    let started = tokio::time::Instant::now();
    served.shutdown.cancel();
    // Engine.IO's close packet, then the WebSocket's closing handshake: no connection reset.
    assert_eq!(next_text(&mut socket).await, "1", "Engine.IO close packet");
    let mut close_frame = false;
    loop {
        // Reading on answers the server's close frame, as a client does.
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("closes in time")
        {
            Some(Ok(Message::Close(_))) => close_frame = true,
            Some(Ok(_)) => {}
            None | Some(Err(WsError::ConnectionClosed)) => break,
            // The server may drop the TCP connection once its close frame is out: the client's
            // reply then finds it gone.
            Some(Err(_)) if close_frame => break,
            Some(Err(err)) => panic!("the connection broke instead of closing: {err}"),
        }
    }
    assert!(
        close_frame,
        "the server closed the WebSocket with a close frame"
    );
    tokio::time::timeout(drain, served.running)
        .await
        .expect("run returns before the drain timeout")
        .unwrap();
    assert!(started.elapsed() < drain, "{:?}", started.elapsed());
    assert_eq!(
        served
            .metrics
            .connections
            .with_label_values(&["realtime"])
            .get(),
        0,
        "the session ended in the hub"
    );
}

#[tokio::test]
async fn run_returns_within_the_drain_timeout_and_drops_a_connection_that_does_not_finish_its_request(
) {
    let drain = Duration::from_millis(300);
    let served = serve(drain);
    let mut stalled = tokio::net::TcpStream::connect(served.address)
        .await
        .unwrap();
    // Half a request: hyper waits for the rest, graceful shutdown or not.
    stalled
        .write_all(b"GET /app/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    served.shutdown.cancel();
    tokio::time::timeout(drain + WAIT, served.running)
        .await
        .expect("run returns once the drain timeout is past")
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, stalled.read_to_end(&mut rest))
        .await
        .expect("the connection is closed once run returned");
    // Closed, or reset: hyper may not have read all of the half request.
    match read {
        Ok(_) => assert!(rest.is_empty(), "no answer to half a request: {rest:?}"),
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
    }
}
