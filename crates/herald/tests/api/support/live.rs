//! Live subscribers for the tests: an SSE reader and a WebSocket client, each waiting for what it
//! expects with a deadline.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::Client;

/// One server-sent event.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// An open SSE subscription.
pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
}

impl SseStream {
    /// Opens `.../messaging/<channel>/sse` with an optional selector and waits for the
    /// `subscribed` event.
    pub async fn open(client: &Client, channel: &str, selector: Option<&str>) -> Self {
        let mut url = reqwest::Url::parse(&client.app_url(&format!("/messaging/{channel}/sse")))
            .expect("a valid url");
        if let Some(selector) = selector {
            url.query_pairs_mut().append_pair("selector", selector);
        }
        match Self::try_open(client.raw().get(url)).await {
            Ok(stream) => stream,
            Err((status, body)) => panic!("SSE answered {status}: {body}"),
        }
    }

    /// Sends `request` (an SSE request the test built, with its headers and query): the stream
    /// after its `subscribed` event, or the refusal's status and JSON body.
    pub async fn try_open(request: reqwest::RequestBuilder) -> Result<Self, (u16, Value)> {
        let response = request.send().await.expect("the SSE request is answered");
        let status = response.status().as_u16();
        if status != 200 {
            let text = response.text().await.unwrap_or_default();
            return Err((
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ));
        }
        let mut stream = Self {
            response,
            buffer: String::new(),
        };
        let first = stream.next_event(Duration::from_secs(10)).await;
        assert_eq!(
            first.and_then(|e| e.event).as_deref(),
            Some("subscribed"),
            "the stream opens with its subscribed event"
        );
        Ok(stream)
    }

    /// The next event (comments skipped), or `None` when the stream ends or the deadline passes.
    pub async fn next_event(&mut self, within: Duration) -> Option<SseEvent> {
        let until = Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event.event = Some(v.to_string());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        event.id = Some(v.to_string());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        event.data.push_str(v);
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(until, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Whether the stream ends within `within`, with nothing but comments before its end.
    pub async fn ends(&mut self, within: Duration) -> bool {
        let until = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(until, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    return self
                        .buffer
                        .lines()
                        .all(|l| l.is_empty() || l.starts_with(':'))
                }
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }

    /// The next `count` messages (their delivered JSON), failing the test past `within`.
    pub async fn messages(&mut self, count: usize, within: Duration) -> Vec<Value> {
        let until = Instant::now() + within;
        let mut messages = Vec::new();
        while messages.len() < count {
            let left = until.saturating_duration_since(Instant::now());
            let Some(event) = self.next_event(left).await else {
                panic!("only {} of {count} SSE messages arrived", messages.len());
            };
            assert_eq!(event.event, None, "an unexpected event: {event:?}");
            let message: Value = serde_json::from_str(&event.data).expect("JSON data");
            assert_eq!(event.id.as_deref(), message["messageId"].as_str());
            messages.push(message);
        }
        messages
    }
}

/// A WebSocket connection to `.../messaging/ws`.
pub struct WsClient {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl WsClient {
    pub async fn connect(client: &Client) -> Self {
        match Self::try_connect(client, "", &[]).await {
            Ok(socket) => socket,
            Err((status, body)) => panic!("the WebSocket upgrade answered {status}: {body}"),
        }
    }

    /// Opens `.../messaging/ws` + `query` with `headers`: the connection, or the refusal's
    /// status and JSON body.
    pub async fn try_connect(
        client: &Client,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, Value)> {
        Self::try_connect_url(&client.app_url(&format!("/messaging/ws{query}")), headers).await
    }

    /// Opens the WebSocket at `url` (`http://...`, any app's) with `headers`.
    pub async fn try_connect_url(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, Value)> {
        let url = url.replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("a WebSocket request");
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(WsError::Http(response)) => {
                let body = response.body().clone().unwrap_or_default();
                let text = String::from_utf8_lossy(&body).to_string();
                Err((
                    response.status().as_u16(),
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                ))
            }
            Err(err) => panic!("the WebSocket upgrade fails: {err}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("the frame is sent");
    }

    /// The next JSON text frame, or `None` when the connection closes or the deadline passes.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Value> {
        let until = Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(until, self.socket.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON")),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Subscribes and waits for the answer (`subscribed` or `error`).
    pub async fn subscribe(&mut self, id: &str, channel: &str, selector: Option<&str>) -> Value {
        let mut frame = serde_json::json!({"type": "subscribe", "id": id, "channel": channel});
        if let Some(selector) = selector {
            frame["selector"] = selector.into();
        }
        self.send(frame).await;
        self.next_frame(Duration::from_secs(10))
            .await
            .expect("an answer to subscribe")
    }

    /// Reads to the end of the connection: its last text frame, and the close frame's code and
    /// reason (`None` when the connection ended without one, or `within` passed first).
    pub async fn last_words(&mut self, within: Duration) -> (Option<Value>, Option<(u16, String)>) {
        let until = Instant::now() + within;
        let mut last = None;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, self.socket.next()).await {
            match message {
                Message::Text(text) => last = Some(serde_json::from_str(&text).expect("JSON")),
                Message::Close(frame) => {
                    return (
                        last,
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    );
                }
                _ => {}
            }
        }
        (last, None)
    }

    /// The next `count` message frames, as (subscription id, message id), failing past `within`.
    pub async fn messages(&mut self, count: usize, within: Duration) -> Vec<(String, String)> {
        let until = Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < count {
            let left = until.saturating_duration_since(Instant::now());
            let Some(frame) = self.next_frame(left).await else {
                panic!(
                    "only {} of {count} WebSocket messages arrived: {out:?}",
                    out.len()
                );
            };
            assert_eq!(frame["type"], "message", "an unexpected frame: {frame}");
            out.push((
                frame["id"].as_str().unwrap().to_string(),
                frame["message"]["messageId"].as_str().unwrap().to_string(),
            ));
        }
        out
    }
}
