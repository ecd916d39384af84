//! The live bus of a single process: a message goes straight to this node when it holds a
//! subscriber of the channel.

use async_trait::async_trait;
use herald_core::ChannelName;
use std::collections::HashSet;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{routing_key, LiveBus, LiveConfirm, LiveFrame};
use crate::error::QueueError;

/// An in-memory [`LiveBus`].
pub struct MemoryLiveBus {
    sender: async_channel::Sender<LiveFrame>,
    receiver: async_channel::Receiver<LiveFrame>,
    bound: Mutex<HashSet<String>>,
}

impl MemoryLiveBus {
    /// `capacity` bounds the messages waiting for the node, as the node queue's length does on
    /// RabbitMQ; past it a publish waits.
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = async_channel::bounded(capacity.max(1));
        Self {
            sender,
            receiver,
            bound: Mutex::default(),
        }
    }

    fn bound(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl LiveBus for MemoryLiveBus {
    async fn send(
        &self,
        app: &str,
        channel: &ChannelName,
        frame: LiveFrame,
    ) -> Result<LiveConfirm, QueueError> {
        if self.bound().contains(&routing_key(app, channel)) {
            self.sender
                .send(frame)
                .await
                .map_err(|_| QueueError::Unavailable)?;
        }
        Ok(Box::pin(std::future::ready(Ok(()))))
    }

    async fn bind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError> {
        self.bound().insert(routing_key(app, channel));
        Ok(())
    }

    async fn unbind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError> {
        self.bound().remove(&routing_key(app, channel));
        Ok(())
    }

    fn receive(&self, _shutdown: CancellationToken) -> async_channel::Receiver<LiveFrame> {
        self.receiver.clone()
    }
}
