//! The shared Redis connection: a multiplexed connection manager (it pipelines concurrent
//! commands on one socket and reconnects by itself), opened in the background so a role starts,
//! and reports not ready, while Redis is down.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tokio::sync::watch;

use crate::error::StoreError;

/// A lazily connected Redis connection shared by the stores.
#[derive(Clone)]
pub struct RedisConn {
    manager: watch::Receiver<Option<ConnectionManager>>,
    client: redis::Client,
}

impl RedisConn {
    /// Starts connecting in the background; calls fail with [`StoreError::Unavailable`] until up.
    pub fn start(url: &SecretString) -> Result<Self, StoreError> {
        let client = redis::Client::open(url.expose_secret())?;
        let (tx, manager) = watch::channel(None);
        let connecting = client.clone();
        tokio::spawn(async move {
            let client = connecting;
            // One reconnection attempt per failed call: while Redis is down a call fails within
            // the timeouts (the client gets its 503 quickly) instead of waiting out a retry series.
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            let mut backoff = Duration::from_millis(100);
            loop {
                match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                    Ok(manager) => {
                        tracing::info!("redis connected");
                        tx.send_replace(Some(manager));
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot connect to redis");
                        if tx.is_closed() {
                            return;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
        Ok(Self { manager, client })
    }

    /// A handle for one operation (cheap: it shares the multiplexed socket).
    pub fn get(&self) -> Result<ConnectionManager, StoreError> {
        self.manager.borrow().clone().ok_or(StoreError::Unavailable)
    }

    /// Hands the payload of every message published on `channel` to `on_message`, resubscribing
    /// after a lost connection, until `shutdown`. A (re)subscription calls it with `None`, since
    /// messages sent while unsubscribed are lost.
    pub fn subscribe(
        &self,
        channel: String,
        shutdown: tokio_util::sync::CancellationToken,
        on_message: impl Fn(Option<&[u8]>) + Send + 'static,
    ) {
        use futures_util::StreamExt;
        let client = self.client.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !shutdown.is_cancelled() {
                let subscribed = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    redis::RedisResult::Ok(pubsub)
                };
                match subscribed.await {
                    Ok(pubsub) => {
                        backoff = Duration::from_millis(100);
                        on_message(None);
                        let mut messages = pubsub.into_on_message();
                        loop {
                            tokio::select! {
                                _ = shutdown.cancelled() => return,
                                message = messages.next() => match message {
                                    Some(message) => on_message(Some(message.get_payload_bytes())),
                                    None => break,
                                },
                            }
                        }
                        tracing::warn!(channel = %channel, "redis subscription lost, resubscribing");
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot subscribe on redis, retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
    }
}

#[async_trait::async_trait]
impl herald_runtime::ReadinessProbe for RedisConn {
    fn component(&self) -> &'static str {
        "redis"
    }

    async fn is_ready(&self) -> bool {
        let Ok(mut conn) = self.get() else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }
}
