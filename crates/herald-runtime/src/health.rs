//! Liveness and readiness. A role is ready when every dependency it registered answers its probe
//! (its RabbitMQ and Redis connections are up) and it is not shutting down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long one readiness probe may take before it counts as not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Something whose readiness gates the role's: a backend connection.
#[async_trait::async_trait]
pub trait ReadinessProbe: Send + Sync {
    /// A short name for the probe's component, shown by `/readyz`.
    fn component(&self) -> &'static str;
    /// Checks the dependency now (a PING, the connection's state), not from a cached flag.
    async fn is_ready(&self) -> bool;
}

/// The readiness of one role.
#[derive(Clone, Default)]
pub struct Health {
    probes: Arc<std::sync::RwLock<Vec<Arc<dyn ReadinessProbe>>>>,
    stopping: Arc<AtomicBool>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&self, probe: Arc<dyn ReadinessProbe>) {
        self.probes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(probe);
    }

    /// Marks the role as shutting down: from now on it reports not ready, so load balancers stop
    /// sending it work while it drains.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The components that are not ready (empty when ready).
    pub async fn not_ready(&self) -> Vec<&'static str> {
        let probes: Vec<Arc<dyn ReadinessProbe>> = self
            .probes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut down = Vec::new();
        for probe in probes {
            let ready = tokio::time::timeout(PROBE_TIMEOUT, probe.is_ready())
                .await
                .unwrap_or(false);
            if !ready {
                down.push(probe.component());
            }
        }
        if self.stopping.load(Ordering::SeqCst) {
            down.push("shutdown");
        }
        down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, bool);
    #[async_trait::async_trait]
    impl ReadinessProbe for Fixed {
        fn component(&self) -> &'static str {
            self.0
        }
        async fn is_ready(&self) -> bool {
            self.1
        }
    }

    #[tokio::test]
    async fn ready_only_when_every_probe_is_and_not_stopping() {
        let health = Health::new();
        health.register(Arc::new(Fixed("redis", true)));
        assert!(health.not_ready().await.is_empty());
        health.register(Arc::new(Fixed("amqp", false)));
        assert_eq!(health.not_ready().await, vec!["amqp"]);
        health.set_stopping();
        assert_eq!(health.not_ready().await, vec!["amqp", "shutdown"]);
    }
}
