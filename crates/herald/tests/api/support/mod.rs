//! What the integration tests share: a herald spawned in-process on port 0 with its own queue and
//! key prefix, on real RabbitMQ and Redis or on the in-memory backends, and helpers to wait for an
//! effect with a deadline instead of sleeping.

pub mod cleanup;
pub mod client;
pub mod live;
pub mod process;
pub mod proxy;
pub mod realtime;
pub mod security;
mod urls;

pub use urls::real_urls;

use herald::Config;
use herald::{Application, Role};
use herald_auth::AppConfig;
use herald_backend::settings::{AmqpUrl, RedisUrl};
use herald_runtime::clock::Clock;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use client::Client;

pub const APP_ID: &str = "test-app";
pub const API_KEY: &str = "test-key";

/// Which backends a behaviour test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// RabbitMQ and Redis at HERALD_AMQP__URL / HERALD_REDIS__URL (default: local ports).
    Real,
    InMemory,
}

/// A fresh prefix, so tests running side by side never share a queue or a key.
pub fn fresh_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A configuration for one test: its own prefix, port 0, the test app.
pub fn test_config(backend: Backend, prefix: &str) -> Config {
    let mut config = Config::defaults().expect("defaults are valid");
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.realtime.listen = "127.0.0.1:0".parse().unwrap();
    config.http.workers = 1;
    let mut app = AppConfig::with_key(APP_ID, API_KEY);
    // `/api/...` finds its app only by a configured domain (outside the development mode).
    app.domains = vec!["127.0.0.1".into()];
    config.apps = vec![app];
    config.shutdown.drain_timeout = Duration::from_millis(2000);
    if backend == Backend::Real {
        let (amqp, redis) = real_urls();
        config.amqp.url = Some(AmqpUrl::parse(amqp).expect("HERALD_AMQP__URL is an amqp:// URL"));
        config.redis.url =
            Some(RedisUrl::parse(redis).expect("HERALD_REDIS__URL is a redis:// URL"));
        config.amqp.prefix = prefix.to_string();
        config.redis.key_prefix = prefix.to_string();
    }
    config
}

/// A herald running in this process.
pub struct TestApp {
    pub address: SocketAddr,
    /// The realtime (socket.io) listener, in a role that serves it.
    pub realtime_address: Option<SocketAddr>,
    pub client: Client,
    /// The running herald's apps, to reload them as SIGHUP does.
    pub apps: std::sync::Arc<herald_auth::Apps>,
    stop: CancellationToken,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _cleanup: Option<cleanup::Cleanup>,
}

impl TestApp {
    /// Spawns standalone herald on `backend` and waits until it is ready.
    pub async fn spawn(backend: Backend) -> Self {
        let prefix = fresh_prefix();
        Self::spawn_with(Role::Standalone, test_config(backend, &prefix)).await
    }

    /// Spawns `role` with `config` (its prefixes are cleaned up afterwards) and waits until ready.
    pub async fn spawn_with(role: Role, config: Config) -> Self {
        Self::spawn_with_clock(role, config, Clock::system()).await
    }

    /// [`TestApp::spawn_with`] on `clock` (a manual one lets the test drive time).
    pub async fn spawn_with_clock(role: Role, config: Config, clock: Clock) -> Self {
        let cleanup = config.amqp.url.as_ref().map(|amqp| {
            cleanup::Cleanup::new(
                amqp.expose_secret(),
                config
                    .redis
                    .url
                    .as_ref()
                    .map(|r| r.expose_secret().to_string())
                    .unwrap_or_default(),
                &config.amqp.prefix,
                &config.redis.key_prefix,
            )
        });
        let app = Application::build_with_clock(role, config, clock)
            .await
            .expect("herald builds");
        let address = app.address();
        let realtime_address = app.realtime_address();
        let apps = app.apps();
        let stop = CancellationToken::new();
        let running = tokio::spawn(app.run_until_stopped(stop.clone()));
        let client = Client::new(address);
        let test_app = Self {
            address,
            realtime_address,
            client,
            apps,
            stop,
            running: Some(running),
            _cleanup: cleanup,
        };
        test_app.wait_ready().await;
        test_app
    }

    pub async fn wait_ready(&self) {
        self.client.wait_ready(Duration::from_secs(20)).await;
    }

    /// Stops herald gracefully and waits for it. Returns the cleanup of its queues and keys, so
    /// a test can start another herald on the same state before letting it go.
    pub async fn stop(mut self) -> Option<cleanup::Cleanup> {
        self.stop.cancel();
        if let Some(running) = self.running.take() {
            running.await.expect("joins").expect("herald stops cleanly");
        }
        self._cleanup.take()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits until `check` holds, trying again as soon as the last try returned, up to `deadline`.
pub async fn eventually<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > until {
            panic!("timed out after {deadline:?} waiting until {what}");
        }
        // A short pause between tries, not a wait for the effect: the deadline bounds the test.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub use herald_runtime::clock::now_ms;

/// Waits until the status of `id` is `status`.
pub async fn wait_for_status(client: &Client, id: &str, status: &str, deadline: Duration) {
    eventually(deadline, &format!("the status of {id} is {status}"), || {
        let client = client.clone();
        let id = id.to_string();
        async move { client.status(&id).await["status"] == status }
    })
    .await;
}

/// Declares one `#[tokio::test]` per backend for a behaviour test `async fn name(backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_rabbitmq_and_redis() {
                    super::$name($crate::support::Backend::Real).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn in_memory() {
                    super::$name($crate::support::Backend::InMemory).await;
                }
            }
        )*
    };
}

/// Polls `subscription` until it has received `count` messages in all, or `deadline` passes;
/// returns everything received (more than `count` if more came).
pub async fn poll_until(
    client: &Client,
    channel: &str,
    subscription: &str,
    count: usize,
    deadline: Duration,
) -> Vec<serde_json::Value> {
    let until = tokio::time::Instant::now() + deadline;
    let mut received = Vec::new();
    while received.len() < count && tokio::time::Instant::now() < until {
        let batch = client.poll_ok(channel, subscription).await;
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        received.extend(batch);
    }
    received
}

/// Publishes `per_worker` messages from each of `workers` concurrent publishers, spread over
/// `clients` round robin; returns the ids accepted.
pub async fn publish_concurrently(
    clients: &[Client],
    channel: &str,
    workers: usize,
    per_worker: usize,
) -> std::collections::HashSet<String> {
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let client = clients[worker % clients.len()].clone();
        let channel = channel.to_string();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..per_worker {
                ids.push(
                    client
                        .publish_ok(
                            &channel,
                            serde_json::json!({"message": {"worker": worker, "n": n}}),
                        )
                        .await,
                );
            }
            ids
        }));
    }
    let mut accepted = std::collections::HashSet::new();
    for task in tasks {
        accepted.extend(task.await.expect("publisher runs"));
    }
    assert_eq!(accepted.len(), workers * per_worker, "ids are unique");
    accepted
}

/// Asserts that `received` holds each id of `expected` exactly once, and nothing else.
pub fn assert_each_once(
    received: &[serde_json::Value],
    expected: &std::collections::HashSet<String>,
) {
    let ids: Vec<String> = received
        .iter()
        .map(|m| m["messageId"].as_str().expect("messageId").to_string())
        .collect();
    let unique: std::collections::HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "a message was delivered twice");
    assert_eq!(&unique, expected, "delivered and accepted messages differ");
}

/// How many times each message id occurs in `messages`.
pub fn count_by_id(messages: &[serde_json::Value]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for m in messages {
        *counts
            .entry(m["messageId"].as_str().expect("messageId").to_string())
            .or_default() += 1;
    }
    counts
}

/// Publishes `count` messages due at `at_ms` on "news"; the ids, each expected once.
pub async fn publish_due_at(
    client: &Client,
    count: usize,
    at_ms: i64,
) -> std::collections::HashMap<String, usize> {
    let mut expected = std::collections::HashMap::new();
    for n in 0..count {
        let id = client
            .publish_ok(
                "news",
                serde_json::json!({"message": n, "publishAt": at_ms}),
            )
            .await;
        expected.insert(id, 1);
    }
    expected
}

/// The published set of the JS SDK's end-to-end selector test (`foo > 10` selects the first and
/// the third), then a last match: once it arrives, everything before it has been offered.
pub async fn publish_selector_set(client: &Client, channel: &str) -> Vec<String> {
    let mut published = Vec::new();
    for headers in [
        serde_json::json!({"foo": 20}),
        serde_json::json!({"foo": 10}),
        serde_json::json!({"foo": "50"}),
        serde_json::json!({"foo": 5}),
        serde_json::json!({}),
        serde_json::json!({"bar": 99}),
        serde_json::json!({"foo": 99}),
    ] {
        let body = serde_json::json!({"message": {"n": published.len()}, "headers": headers});
        published.push(client.publish_ok(channel, body).await);
    }
    published
}
