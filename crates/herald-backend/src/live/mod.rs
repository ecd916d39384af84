//! The live bus: how a message handled by any dispatcher reaches the nodes that hold live
//! subscribers (SSE, WebSocket, realtime) of its channel, once per node.
//!
//! On RabbitMQ ([`RabbitLiveBus`]) each node owns a queue `<p>.live.<node>`, bound to the direct
//! exchange `<p>.live` with one routing key per channel it has subscribers for: the broker copies
//! each message to exactly the nodes that want it, and a node with no subscriber of a channel never
//! sees its traffic. The dispatcher that took a message from the dispatch route publishes it once
//! to the exchange. In memory ([`MemoryLiveBus`]) there is one node: the process itself.
//! `proto/rabbitmq-topology.md` documents the RabbitMQ side.

mod memory;
pub mod rabbit;

pub use memory::MemoryLiveBus;
pub use rabbit::RabbitLiveBus;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use herald_core::ChannelName;
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;

/// The fan-out of messages to live nodes.
#[async_trait]
pub trait LiveBus: Send + Sync + 'static {
    /// Sends one occurrence (its envelope) to every node with subscribers of its channel. Returns
    /// once it is sent, with the broker's confirm still to await: messages of one channel sent in
    /// order reach every node in that order, so a caller can keep order without waiting for
    /// each confirm before sending the next.
    async fn send(
        &self,
        app: &str,
        channel: &ChannelName,
        frame: LiveFrame,
    ) -> Result<LiveConfirm, QueueError>;

    /// Routes the channel's messages to this node from now on; returns once they are routed, so
    /// a subscriber told it is subscribed misses nothing published after.
    async fn bind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError>;

    /// Stops routing the channel's messages to this node.
    async fn unbind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError>;

    /// The envelopes routed to this node, until `shutdown`; call once per process.
    fn receive(&self, shutdown: CancellationToken) -> async_channel::Receiver<LiveFrame>;
}

/// What travels on the live bus: a message occurrence (its envelope), a command a realtime
/// client sent to a channel, or a change in who is joined to a channel (presence). The kind rides beside the body (AMQP's `type` property), so a
/// message's envelope crosses unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFrame {
    pub kind: LiveKind,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKind {
    Message,
    Command,
    Presence,
}

impl LiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Message => "message",
            LiveKind::Command => "command",
            LiveKind::Presence => "presence",
        }
    }

    /// The kind an AMQP `type` names; a frame without one is a message (as every frame was
    /// before commands existed).
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text {
            None | Some("message") => Some(LiveKind::Message),
            Some("command") => Some(LiveKind::Command),
            Some("presence") => Some(LiveKind::Presence),
            Some(_) => None,
        }
    }
}

/// The broker's answer to one [`LiveBus::send`].
pub type LiveConfirm = BoxFuture<'static, Result<(), QueueError>>;

/// The routing key of a channel: `<app>/<channel>` (app ids hold no `/`), or, when that is longer
/// than AMQP's 255-byte limit, a stable 64-bit hash of it. Two channels sharing a hashed key only
/// cost a node messages its hub then ignores: delivery goes by the envelope's own app and channel.
pub fn routing_key(app: &str, channel: &ChannelName) -> String {
    let key = format!("{app}/{}", channel.as_str());
    if key.len() <= 255 {
        return key;
    }
    format!("#{:016x}", stable_hash(&key))
}

/// FNV-1a: stable across builds and processes, which every node must agree on.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_fit_amqp_and_are_stable() {
        let short = ChannelName::parse("news").unwrap();
        assert_eq!(routing_key("app", &short), "app/news");
        let long = ChannelName::parse(&"c".repeat(255)).unwrap();
        let key = routing_key(&"a".repeat(64), &long);
        assert!(key.len() <= 255);
        assert_eq!(key, routing_key(&"a".repeat(64), &long));
        assert_ne!(key, routing_key(&"b".repeat(64), &long));
    }
}
