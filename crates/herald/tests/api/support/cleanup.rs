//! Removes what a test created on the shared RabbitMQ and Redis (its queues, exchanges and keys,
//! all under its own prefix), even when the test panicked.

use herald_backend::queue::topology::Topology;

pub struct Cleanup {
    amqp_url: String,
    redis_url: String,
    amqp_prefix: String,
    key_prefix: String,
}

impl Cleanup {
    /// Cleans up after processes started with `process::real_env(prefix)`.
    pub fn for_prefix(prefix: &str) -> Self {
        use secrecy::ExposeSecret;
        let (amqp, redis) = super::real_urls();
        Self::new(
            amqp.expose_secret(),
            redis.expose_secret().to_string(),
            prefix,
            prefix,
        )
    }

    pub fn new(amqp_url: &str, redis_url: String, amqp_prefix: &str, key_prefix: &str) -> Self {
        Self {
            amqp_url: amqp_url.to_string(),
            redis_url,
            amqp_prefix: amqp_prefix.to_string(),
            key_prefix: key_prefix.to_string(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let amqp_url = self.amqp_url.clone();
        let redis_url = self.redis_url.clone();
        let topology = Topology::new(&self.amqp_prefix);
        let keys = herald_backend::store::keys::Keys::new(&self.key_prefix, 16);
        // Drop cannot await, and may run inside a runtime: clean up from a thread of its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(conn) = lapin::Connection::connect(&amqp_url, Default::default()).await {
                    if let Ok(channel) = conn.create_channel().await {
                        for queue in topology.queues() {
                            let _ = channel
                                .queue_delete(queue.as_str().into(), Default::default())
                                .await;
                        }
                        for exchange in [
                            &topology.exchange,
                            &topology.dead_exchange,
                            &topology.live_exchange,
                        ] {
                            let _ = channel
                                .exchange_delete(exchange.as_str().into(), Default::default())
                                .await;
                        }
                    }
                    let _ = conn.close(200, "cleaned".into()).await;
                }
                if let Ok(client) = redis::Client::open(redis_url) {
                    if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                        let found: Vec<String> = redis::cmd("KEYS")
                            .arg(keys.pattern())
                            .query_async(&mut conn)
                            .await
                            .unwrap_or_default();
                        if !found.is_empty() {
                            let _: Result<i64, _> =
                                redis::cmd("DEL").arg(found).query_async(&mut conn).await;
                        }
                    }
                }
            });
        });
        let _ = done.join();
    }
}
