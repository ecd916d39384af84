//! A live connection's side of the hub: a bounded buffer of outgoing messages, and the reason the
//! hub cut it off, if it did. The transport drains the buffer; when the hub closes it, the
//! transport sends the reason as its last word.

use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One message for one subscription of a connection: the subscription's tag (WebSocket clients
/// name their subscriptions) and the message rendered once for every subscriber of the node.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub tag: Arc<str>,
    pub message: Arc<Rendered>,
}

/// A message rendered once per node: in the delivered shape (SSE, WebSocket), and in the
/// Backendless realtime shape when the channel has realtime subscribers.
#[derive(Debug)]
pub struct Rendered {
    pub message_id: String,
    pub json: String,
    pub realtime: Option<Box<serde_json::value::RawValue>>,
}

impl Rendered {
    /// What only realtime connections receive (commands, presence): the JSON is the realtime
    /// shape.
    pub fn realtime_only(json: String) -> Self {
        Self {
            message_id: String::new(),
            realtime: serde_json::value::RawValue::from_string(json.clone()).ok(),
            json,
        }
    }
}

/// Which transport a connection uses (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Sse,
    WebSocket,
    Realtime,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::WebSocket => "websocket",
            Transport::Realtime => "realtime",
        }
    }
}

/// What the hub and the transport share of a connection.
#[derive(Debug)]
pub struct SinkShared {
    pub id: u64,
    pub transport: Transport,
    reason: OnceLock<String>,
    cut: CancellationToken,
}

impl SinkShared {
    pub fn new(id: u64, transport: Transport) -> Self {
        Self {
            id,
            transport,
            reason: OnceLock::new(),
            cut: CancellationToken::new(),
        }
    }

    /// Ends the connection with `reason`; the first reason given is the one told.
    pub fn cut_off(&self, reason: String) {
        if let Err(later) = self.reason.set(reason) {
            tracing::debug!(
                connection = self.id,
                reason = later,
                "a connection cut off already keeps its first reason"
            );
        }
        self.cut.cancel();
    }
}

/// What a transport holds of its connection: the buffer's receiving end.
pub struct SinkReceiver {
    pub shared: Arc<SinkShared>,
    pub receiver: mpsc::Receiver<Outgoing>,
}

impl SinkReceiver {
    /// The next message, or `None` once the hub has cut the connection off (see
    /// [`SinkReceiver::cut_off_reason`]): a connection cut off for being slow is told so at once,
    /// not after the backlog that made it slow.
    pub async fn next(&mut self) -> Option<Outgoing> {
        tokio::select! {
            biased;
            _ = self.shared.cut.cancelled() => None,
            next = self.receiver.recv() => next,
        }
    }

    /// The next message if one is queued already; `None` when none is, or once the hub has cut
    /// the connection off (then [`SinkReceiver::next`] tells it).
    pub fn try_next(&mut self) -> Option<Outgoing> {
        if self.shared.cut.is_cancelled() {
            return None;
        }
        self.receiver.try_recv().ok()
    }

    pub fn cut_off_reason(&self) -> Option<&str> {
        self.shared.reason.get().map(String::as_str)
    }
}
