//! The sections of the configuration that belong to the process as a whole rather than to one
//! crate: its two listeners, and the live subscribers' limits that the hub and the live bus share.

use herald_runtime::de;
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// `[http]`: the listener of the REST API (ingest), /metrics, /healthz and /readyz.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: NonZeroUsize,
    /// Peers whose `Forwarded` / `X-Forwarded-Host` headers are believed (CIDR networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// `[realtime]`: the listener of the Backendless realtime protocol (socket.io).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeSettings {
    pub listen: SocketAddr,
    /// What `GET .../info` hands out as rtURL: `http(s)://host[:port]`, no path.
    #[serde(default, deserialize_with = "public_url")]
    pub public_url: Option<String>,
}

fn public_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(d)?;
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.trim_end_matches('/').matches('/').count() > 2
    {
        return Err(serde::de::Error::custom(
            "must be http(s)://host[:port] without a path",
        ));
    }
    Ok(Some(url))
}

/// `[live]`: live subscribers (SSE, WebSocket, realtime) and the node queues that feed them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    /// Messages buffered for each live connection.
    pub buffer_messages: NonZeroUsize,
    /// Between keep-alives on an idle live connection.
    #[serde(rename = "keep_alive_seconds", deserialize_with = "de::seconds")]
    pub keep_alive: Duration,
    /// Most messages waiting in one dispatcher node's live queue.
    pub node_queue_max_length: NonZeroU64,
    /// How long a node's live queue outlives the node.
    #[serde(
        rename = "node_queue_expires_seconds",
        deserialize_with = "node_queue_expires"
    )]
    pub node_queue_expires: Duration,
    /// How long a node remembers a delivered occurrence to drop a second copy of it.
    #[serde(rename = "dedup_window_seconds", deserialize_with = "de::seconds")]
    pub dedup_window: Duration,
    /// Most occurrences a node remembers for that.
    pub dedup_cap: NonZeroUsize,
    /// How long a node that stopped without a word still counts as holding its connections.
    #[serde(rename = "presence_ttl_seconds", deserialize_with = "presence_ttl")]
    pub presence_ttl: Duration,
}

fn node_queue_expires<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de::seconds_at_least(d, 10, " (a node that reconnects must find its queue)")
}

fn presence_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de::seconds_at_least(d, 3, " (nodes beat three times per period)")
}
