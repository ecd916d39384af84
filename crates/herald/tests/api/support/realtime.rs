//! A minimal Backendless realtime client for the tests: socket.io (Engine.IO v4) over a
//! WebSocket, speaking the packets by hand, so the tests see exactly what goes over the wire.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket.io connection to one app's namespace.
pub struct RtClient {
    socket: Socket,
    namespace: String,
    /// The connection's id in the namespace (the CONNECT answer's `sid`): its `connectionId`.
    pub sid: String,
}

/// What the namespace CONNECT got.
pub enum Connected {
    Yes(Box<RtClient>),
    /// The CONNECT_ERROR payload.
    Refused(Value),
}

impl RtClient {
    /// Opens `ws://<address>/<app>/` with the SDK's handshake query and connects the namespace.
    pub async fn connect(address: SocketAddr, app: &str, api_key: &str) -> Connected {
        Self::connect_as(address, app, api_key, None).await
    }

    /// [`RtClient::connect`] logged in with `user_token` (the SDK's `"null"` without one).
    pub async fn connect_as(
        address: SocketAddr,
        app: &str,
        api_key: &str,
        user_token: Option<&str>,
    ) -> Connected {
        let url = handshake_url(address, app, api_key, user_token);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the realtime WebSocket opens");
        Self::open(socket, app).await
    }

    /// [`RtClient::connect`] to a path that may not be served yet: `None` when its WebSocket
    /// upgrade is refused (the path is no app's).
    pub async fn try_connect(address: SocketAddr, app: &str, api_key: &str) -> Option<Self> {
        let url = handshake_url(address, app, api_key, None);
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => match Self::open(socket, app).await {
                Connected::Yes(client) => Some(*client),
                Connected::Refused(reason) => panic!("refused: {reason}"),
            },
            Err(tokio_tungstenite::tungstenite::Error::Http(_)) => None,
            Err(err) => panic!("the realtime WebSocket neither opened nor was refused: {err}"),
        }
    }

    /// Opens the namespace of `app` on an open WebSocket.
    async fn open(socket: Socket, app: &str) -> Connected {
        let mut client = Self {
            socket,
            namespace: format!("/{app}"),
            sid: String::new(),
        };
        let open = client.next_text(Duration::from_secs(10)).await;
        assert!(
            open.starts_with('0'),
            "an Engine.IO open packet, got {open}"
        );
        let connect = format!("40{},", client.namespace);
        client.send_text(connect).await;
        let answer = client.next_text(Duration::from_secs(10)).await;
        let prefix = format!("{},", client.namespace);
        if let Some(ok) = answer.strip_prefix("40") {
            let payload = ok
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{answer}"));
            let payload: Value = serde_json::from_str(payload).expect("JSON");
            client.sid = payload["sid"].as_str().expect("a sid").to_string();
            Connected::Yes(Box::new(client))
        } else if let Some(refused) = answer.strip_prefix("44") {
            let payload = refused.strip_prefix(&prefix).unwrap_or(refused);
            Connected::Refused(serde_json::from_str(payload).expect("JSON"))
        } else {
            panic!("unexpected answer to CONNECT: {answer}")
        }
    }

    /// `SET_USER_TOKEN` (`None`: logged out); the events that came before its answer, and the
    /// answer.
    pub async fn set_user_token(&mut self, token: Option<&str>) -> (Vec<(String, Value)>, Value) {
        self.emit(
            "MET_REQ",
            serde_json::json!({"id": "tok", "name": "SET_USER_TOKEN", "options": {"userToken": token}}),
        )
        .await;
        let mut before = Vec::new();
        loop {
            let (event, payload) = self.next_event(Duration::from_secs(10)).await;
            if event == "MET_RES" && payload["id"] == "tok" {
                return (before, payload);
            }
            before.push((event, payload));
        }
    }

    /// Closes the connection as a client going away does: the WebSocket closes.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    async fn send_text(&mut self, text: String) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("the packet is sent");
    }

    /// The next text packet, answering Engine.IO pings on the way.
    async fn next_text(&mut self, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(until, self.socket.next())
                .await
                .expect("a packet in time")
                .expect("the connection is open")
                .expect("a readable packet");
            if let Message::Text(text) = message {
                if text.as_str() == "2" {
                    self.send_text("3".into()).await;
                    continue;
                }
                return text.to_string();
            }
        }
    }

    /// Emits `[event, payload]` on the namespace.
    pub async fn emit(&mut self, event: &str, payload: Value) {
        let packet = format!(
            "42{},{}",
            self.namespace,
            serde_json::json!([event, payload])
        );
        self.send_text(packet).await;
    }

    /// The next event on the namespace, as (name, payload).
    pub async fn next_event(&mut self, within: Duration) -> (String, Value) {
        let text = self.next_text(within).await;
        let prefix = format!("42{},", self.namespace);
        let body = text
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("an event packet, got {text}"));
        let value: Value = serde_json::from_str(body).expect("JSON");
        (
            value[0].as_str().expect("an event name").to_string(),
            value[1].clone(),
        )
    }

    /// Sends `SUB_ON` and returns the first answer to it.
    pub async fn sub_on(&mut self, id: &str, name: &str, options: Value) -> (String, Value) {
        self.emit(
            "SUB_ON",
            serde_json::json!({"id": id, "name": name, "options": options}),
        )
        .await;
        self.next_event(Duration::from_secs(10)).await
    }

    /// Reads on until the server disconnects the namespace (`41/<app>,`), as the SDK hears a
    /// server-side `disconnect()`; panics if it does not in time.
    pub async fn disconnected_by_server(mut self, within: Duration) {
        let until = Instant::now() + within;
        let disconnect = format!("41{},", self.namespace);
        loop {
            let remaining = until.saturating_duration_since(Instant::now());
            let text = self.next_text(remaining).await;
            if text == disconnect {
                return;
            }
        }
    }

    /// Reads on until the server ends the connection, and asserts it did so cleanly: Engine.IO's
    /// close packet, then the WebSocket's closing handshake, never a broken connection.
    pub async fn closed_by_server(mut self, within: Duration) {
        let until = Instant::now() + within;
        let (mut close_packet, mut close_frame) = (false, false);
        loop {
            let message = tokio::time::timeout_at(until, self.socket.next())
                .await
                .expect("the server closes the connection in time");
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "1" => close_packet = true,
                Some(Ok(Message::Close(_))) => close_frame = true,
                Some(Ok(_)) => {}
                None | Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => break,
                // The server may drop the TCP connection once its close frame is out: the client's
                // reply then finds it gone.
                Some(Err(_)) if close_frame => break,
                Some(Err(err)) => panic!("the connection broke instead of closing: {err}"),
            }
        }
        assert!(close_packet, "Engine.IO's close packet");
        assert!(close_frame, "a WebSocket close frame");
    }
}

/// The SDK's handshake URL over a WebSocket, with `user_token` or the string `"null"`.
pub fn handshake_url(
    address: SocketAddr,
    app: &str,
    api_key: &str,
    user_token: Option<&str>,
) -> String {
    let token = user_token.unwrap_or("null");
    format!(
        "ws://{address}/{app}/?apiKey={api_key}&clientId=test-client&userToken={token}&EIO=4&transport=websocket"
    )
}

/// Opens the WebSocket upgrade of a handshake with an `Origin` header, as a browser page of
/// `origin` does; the HTTP status of the refusal, if refused.
pub async fn upgrade_from(
    address: SocketAddr,
    app: &str,
    api_key: &str,
    origin: &str,
) -> Result<(), u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = handshake_url(address, app, api_key, None)
        .into_client_request()
        .expect("a WebSocket request");
    request
        .headers_mut()
        .insert("origin", origin.parse().expect("an origin header"));
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("the upgrade neither opened nor was refused: {err}"),
    }
}
