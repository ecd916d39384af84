//! What the store contract suites share: every store of one backend, built in one place
//! ([`Stores::build`]); on Redis a fresh key prefix per test whose keys are removed when the test
//! ends, passed or not; the macro that runs each case on both backends; and waits with a deadline.

use herald_backend::metrics::SettleMetrics;
use herald_backend::store::inbox::{InboxSettings, InboxStore, RedisInboxStore};
use herald_backend::store::keys::Keys;
use herald_backend::store::presence::{PresenceStore, RedisPresenceStore};
use herald_backend::store::redis_conn::RedisConn;
use herald_backend::store::schedule::{
    shard_of, Member, NewEntry, RedisScheduleStore, ScheduleStore,
};
use herald_backend::store::status::{RedisStatusStore, StatusStore};
use herald_backend::Backends;
use herald_core::schedule::Schedule;
use herald_core::status::DeliveryKind;
use herald_core::MessageId;
use herald_runtime::clock::Clock;
use herald_runtime::ReadinessProbe;
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The app every case's records belong to (each test has stores of its own).
pub const APP: &str = "app";

/// The channel [`Stores::create`] records a message under.
pub const CHANNEL: &str = "news";

/// Which implementation of the stores a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    /// Redis at HERALD_REDIS__URL (default: the local standard port).
    Redis,
}

/// The limits the stores are built with.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a status record lives after its last transition.
    pub status_ttl: Duration,
    pub inbox: InboxSettings,
    /// The schedule's shard count (the memory schedule has one shard whatever this says).
    pub shards: u32,
    /// How long a presence node counts as alive after its last heartbeat.
    pub presence_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            status_ttl: Duration::from_secs(60),
            inbox: InboxSettings {
                window: Duration::from_secs(60),
                subscription_ttl: Duration::from_secs(60),
                cap: 100,
                dedup_window: Duration::from_secs(60),
            },
            shards: 1,
            presence_ttl: Duration::from_secs(60),
        }
    }
}

/// Every store of one backend, sharing its state as the backends of one process do.
pub struct Stores {
    pub settings: Settings,
    pub statuses: Arc<dyn StatusStore>,
    pub schedule: Arc<dyn ScheduleStore>,
    pub inboxes: Arc<dyn InboxStore>,
    /// Presence as this node records it.
    pub presence: Arc<dyn PresenceStore>,
    /// Presence as a second node records it; in memory the same store (one process, one node).
    pub presence_elsewhere: Arc<dyn PresenceStore>,
    redis: Option<Redis>,
}

impl Stores {
    /// Builds every store of `backend` with `settings`: the one place that knows how.
    pub async fn build(backend: Backend, settings: Settings) -> Self {
        match backend {
            Backend::Memory => {
                // As `cargo run` builds them; the queue and live bus come along, unused here.
                let backends = Backends::in_memory(
                    settings.status_ttl,
                    settings.inbox,
                    16,
                    SettleMetrics::unregistered().expect("settle metrics"),
                    // The cases read the machine's time (`wall_ms`), as Redis's clock is.
                    Clock::system(),
                );
                Self {
                    settings,
                    statuses: backends.statuses,
                    schedule: backends.schedule,
                    inboxes: backends.inboxes,
                    presence: backends.presence.clone(),
                    presence_elsewhere: backends.presence,
                    redis: None,
                }
            }
            Backend::Redis => {
                let url = std::env::var("HERALD_REDIS__URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
                let prefix = format!("st{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
                let keys = Keys::new(&prefix, settings.shards);
                // Armed before anything is written, so a test that fails halfway leaves nothing.
                let cleanup = Cleanup {
                    url: url.clone(),
                    pattern: keys.pattern(),
                };
                let conn =
                    RedisConn::start(&SecretString::from(url)).expect("the redis url parses");
                eventually(Duration::from_secs(10), "redis is connected", || {
                    let conn = conn.clone();
                    async move { conn.is_ready().await }
                })
                .await;
                let presence_of = |node: &str| -> Arc<dyn PresenceStore> {
                    Arc::new(RedisPresenceStore::new(
                        conn.clone(),
                        keys.clone(),
                        node,
                        settings.presence_ttl,
                    ))
                };
                Self {
                    settings,
                    statuses: Arc::new(RedisStatusStore::new(
                        conn.clone(),
                        keys.clone(),
                        settings.status_ttl,
                    )),
                    schedule: Arc::new(RedisScheduleStore::new(
                        conn.clone(),
                        keys.clone(),
                        settings.shards,
                    )),
                    inboxes: Arc::new(RedisInboxStore::new(
                        conn.clone(),
                        keys.clone(),
                        settings.inbox,
                    )),
                    presence: presence_of("node-a"),
                    presence_elsewhere: presence_of("node-b"),
                    redis: Some(Redis {
                        conn,
                        keys,
                        cleanup,
                    }),
                }
            }
        }
    }

    /// Direct access to the keys under this test's prefix, on Redis.
    pub fn redis(&self) -> Option<&Redis> {
        self.redis.as_ref()
    }

    /// The shard a message's entry lives in.
    pub fn shard(&self, member: &Member) -> u32 {
        shard_of(member.id, self.schedule.shards())
    }

    /// Records a new deferred message as scheduled (kept for `ttl`) and takes it into the
    /// schedule with an entry kept as long; its member and the due time the store answered.
    pub async fn schedule_message(&self, times: Times, ttl: Duration) -> (Member, Option<i64>) {
        let member = Member {
            app: APP.to_string(),
            id: MessageId::new_random(),
        };
        self.create(member.id, DeliveryKind::Deferred, ttl).await;
        let due = self.store_entry(&member, times, ttl).await;
        (member, due)
    }

    /// Creates a status record, on [`CHANNEL`].
    pub async fn create(&self, id: MessageId, kind: DeliveryKind, ttl: Duration) {
        self.statuses
            .create(APP, id, CHANNEL, kind, ttl)
            .await
            .expect("the status is created");
    }

    /// Takes `member` into the schedule with its test envelope ([`envelope_of`]).
    pub async fn store_entry(&self, member: &Member, times: Times, ttl: Duration) -> Option<i64> {
        let envelope = envelope_of(member);
        self.schedule
            .store(NewEntry {
                member,
                envelope: &envelope,
                schedule: times.schedule(),
                ttl,
            })
            .await
            .expect("the entry is stored")
    }
}

/// When a deferred message's occurrences are due, as the schedule store takes them.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub first_at_ms: i64,
    /// 0 for a one-shot message.
    pub every_seconds: u64,
    /// 0 when it repeats until cancelled.
    pub expires_at_ms: i64,
}

impl Times {
    /// The schedule these times describe, in the core's one model of the time rules.
    pub fn schedule(self) -> Schedule {
        if self.every_seconds == 0 {
            Schedule::Delayed {
                at_ms: self.first_at_ms,
            }
        } else {
            Schedule::Repeating {
                first_at_ms: self.first_at_ms,
                every_seconds: self.every_seconds,
                expires_at_ms: (self.expires_at_ms > 0).then_some(self.expires_at_ms),
            }
        }
    }
}

impl Times {
    pub fn once(at_ms: i64) -> Self {
        Self {
            first_at_ms: at_ms,
            every_seconds: 0,
            expires_at_ms: 0,
        }
    }

    pub fn every(first_at_ms: i64, every_seconds: u64, expires_at_ms: i64) -> Self {
        Self {
            first_at_ms,
            every_seconds,
            expires_at_ms,
        }
    }
}

/// The envelope a test stores for `member`: opaque to the store, and telling members apart.
pub fn envelope_of(member: &Member) -> String {
    format!(r#"{{"test":"{}"}}"#, member.id)
}

/// This test's keys on Redis.
pub struct Redis {
    conn: RedisConn,
    pub keys: Keys,
    cleanup: Cleanup,
}

impl Redis {
    /// The remaining lifetime of `key`, ms: -2 when it does not exist, -1 when it never expires.
    pub async fn pttl(&self, key: &str) -> i64 {
        let mut conn = self.conn.get().expect("redis is connected");
        redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .expect("PTTL answers")
    }

    /// Writes the hash `key` with `fields`, as an older herald may have left it.
    pub async fn write_hash(&self, key: &str, fields: &[(&str, &str)]) {
        let mut conn = self.conn.get().expect("redis is connected");
        let _: i64 = redis::cmd("HSET")
            .arg(key)
            .arg(fields)
            .query_async(&mut conn)
            .await
            .expect("HSET answers");
    }

    /// The keys under this test's prefix.
    pub fn existing_keys(&self) -> Vec<String> {
        scan(&self.cleanup.url, &self.cleanup.pattern).expect("SCAN answers")
    }
}

/// Removes every key under a test's prefix when dropped (SCAN and UNLINK, never a flush: other
/// tests share the database).
struct Cleanup {
    url: String,
    pattern: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // Reported, not raised: this may run while the test is already panicking.
        if let Err(err) = remove_keys(&self.url, &self.pattern) {
            eprintln!("cannot remove the keys {}: {err}", self.pattern);
        }
    }
}

/// Every key matching `pattern` (a blocking client: it also serves `Drop`, which cannot await).
fn scan(url: &str, pattern: &str) -> redis::RedisResult<Vec<String>> {
    let mut conn = redis::Client::open(url)?.get_connection()?;
    let mut cursor: u64 = 0;
    let mut found = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(&mut conn)?;
        found.extend(keys);
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}

fn remove_keys(url: &str, pattern: &str) -> redis::RedisResult<()> {
    let found = scan(url, pattern)?;
    let mut conn = redis::Client::open(url)?.get_connection()?;
    for chunk in found.chunks(500) {
        let _: i64 = redis::cmd("UNLINK").arg(chunk).query(&mut conn)?;
    }
    Ok(())
}

/// Waits until `check` holds, trying again shortly after each try, up to `deadline`.
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
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting until {what}"
        );
        // A short pause between tries, not a wait for the effect: the deadline bounds the test.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lets `lifetime` pass on the store's clock, for a lifetime that cannot be watched run out:
/// looking renews it (a poll renews its subscription) or uses it up (a poll moves its cursor).
/// The stores' clocks are this machine's (Redis's `TIME` and the process's), which a test cannot
/// drive on Redis, so this waits for time itself, with a margin, and never for an effect.
pub async fn let_pass(lifetime: Duration) {
    tokio::time::sleep(lifetime + Duration::from_millis(100)).await;
}

/// The machine's clock, ms since the epoch: the one Redis's `TIME` and the memory stores read.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Milliseconds, for short settings.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Declares, for each `async fn case(stores: &Stores)`, a module `case` with one test per
/// backend (`case::in_memory`, `case::on_redis`), each on stores built with `$settings`.
#[macro_export]
macro_rules! on_both_backends {
    ($settings:expr => $($name:ident),* $(,)?) => {
        $( $crate::on_both_backends!(@case $settings, $name); )*
    };
    (@case $settings:expr, $name:ident) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn in_memory() {
                let stores = $crate::support::Stores::build(
                    $crate::support::Backend::Memory,
                    $settings,
                )
                .await;
                super::$name(&stores).await;
            }

            #[tokio::test]
            async fn on_redis() {
                let stores = $crate::support::Stores::build(
                    $crate::support::Backend::Redis,
                    $settings,
                )
                .await;
                super::$name(&stores).await;
            }
        }
    };
}

#[tokio::test]
async fn the_keys_of_a_test_on_redis_are_gone_once_its_stores_are() {
    let stores = Stores::build(Backend::Redis, Settings::default()).await;
    stores
        .create(MessageId::new_random(), DeliveryKind::Immediate, ms(60_000))
        .await;
    let redis = stores.redis().expect("built on redis");
    assert_eq!(redis.existing_keys().len(), 1);
    let (url, pattern) = (redis.cleanup.url.clone(), redis.cleanup.pattern.clone());
    drop(stores);
    assert_eq!(
        scan(&url, &pattern).expect("SCAN answers"),
        Vec::<String>::new()
    );
}
