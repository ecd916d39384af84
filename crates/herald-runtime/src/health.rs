//! Liveness and readiness. A role is ready when every dependency it registered reports ready
//! (its RabbitMQ and Redis connections are up) and it is not shutting down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Something whose readiness gates the role's: a backend connection.
pub trait ReadinessProbe: Send + Sync {
    /// A short name for the probe's component, shown by `/readyz`.
    fn component(&self) -> &'static str;
    fn is_ready(&self) -> bool;
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
        self.probes.write().unwrap_or_else(|e| e.into_inner()).push(probe);
    }

    /// Marks the role as shutting down: from now on it reports not ready, so load balancers stop
    /// sending it work while it drains.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The components that are not ready (empty when ready).
    pub fn not_ready(&self) -> Vec<&'static str> {
        let mut down: Vec<&'static str> = self
            .probes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|p| !p.is_ready())
            .map(|p| p.component())
            .collect();
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
    impl ReadinessProbe for Fixed {
        fn component(&self) -> &'static str {
            self.0
        }
        fn is_ready(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn ready_only_when_every_probe_is_and_not_stopping() {
        let health = Health::new();
        health.register(Arc::new(Fixed("redis", true)));
        assert!(health.not_ready().is_empty());
        health.register(Arc::new(Fixed("amqp", false)));
        assert_eq!(health.not_ready(), vec!["amqp"]);
        health.set_stopping();
        assert_eq!(health.not_ready(), vec!["amqp", "shutdown"]);
    }
}
