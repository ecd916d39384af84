//! What the hub knows of its connections and their subscriptions, shared by the hub's modules:
//! the subscriptions by channel, the connections' buffers, and the one message for one worker's
//! fan-out that the intake queues.

use herald_core::headers::Headers;
use herald_core::{ChannelName, Selector};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::sink::{Outgoing, Rendered, SinkShared, Transport};

/// A channel of an app.
pub(super) type ChannelKey = (String, ChannelName);

pub(super) struct SinkEntry {
    pub shared: Arc<SinkShared>,
    pub sender: mpsc::Sender<Outgoing>,
    pub subscriptions: Vec<(ChannelKey, Arc<str>)>,
    /// The worker fan-out that offers to the connection, or none: the intake does (see
    /// `worker_fanout`).
    pub worker: Option<usize>,
}

/// What a subscription receives of its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Published messages (every transport).
    Messages,
    /// Commands realtime clients send to the channel.
    Commands,
    /// Who joins and leaves the channel (realtime presence). Such a subscription holds what it is
    /// offered until its listing goes out first.
    Users,
}

pub(super) struct Subscription {
    pub interest: Interest,
    /// The connection's worker fan-out (see `worker_fanout`).
    pub worker: Option<usize>,
    /// The hub's count of offers when the subscription was taken: it receives the later ones.
    pub since: u64,
    /// The connection left the channel (`leave()`): nothing is delivered until it joins again.
    pub paused: bool,
    pub sink: u64,
    pub transport: Transport,
    pub tag: Arc<str>,
    pub selector: Option<Selector>,
    /// What was offered before the subscription's first message went out, kept to follow it.
    pub held: Option<Vec<Arc<Rendered>>>,
}

#[derive(Default)]
pub(super) struct State {
    pub sinks: HashMap<u64, SinkEntry>,
    pub channels: HashMap<ChannelKey, Vec<Subscription>>,
    /// How many of this node's connections are joined to each channel (presence).
    pub joined: HashMap<ChannelKey, usize>,
    /// Offers made so far: each offer's number, and each subscription's `since`.
    pub offers: u64,
}

/// One message for one worker's fan-out.
pub(super) struct FanoutJob {
    pub key: ChannelKey,
    pub interest: Interest,
    pub headers: Option<Headers>,
    pub rendered: Arc<Rendered>,
    /// The hub's count of offers when this one was made: a subscription taken after it does
    /// not receive it (it arrived at the node before the subscription existed).
    pub offer: u64,
}
