//! The RabbitMQ topology, declared by every role at start (declarations are idempotent). It is
//! written down in `proto/rabbitmq-topology.md`; the two must change together.
//!
//! ```text
//! exchange <p> (direct) ──dispatch──▶ queue <p>.dispatch (quorum) ──▶ dispatchers
//!                       ──schedule──▶ queue <p>.schedule (quorum) ──▶ schedulers
//! rejected, or delivered more than amqp.delivery_limit times:
//!   ──▶ exchange <p>.dead (fanout) ──▶ queue <p>.dead (quorum), kept for inspection
//!
//! exchange <p>.live (direct) ──<app>/<channel>──▶ queue <p>.live.<node> (classic, transient,
//!   one per dispatcher node, bound per channel it has live subscribers of; see crate::live)
//! ```

use super::Route;

/// The names of one topology, all derived from the configured prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub dead_exchange: String,
    pub dead_queue: String,
    pub live_exchange: String,
    prefix: String,
}

impl Topology {
    pub fn new(prefix: &str) -> Self {
        Self {
            exchange: prefix.to_string(),
            dead_exchange: format!("{prefix}.dead"),
            dead_queue: format!("{prefix}.dead"),
            live_exchange: format!("{prefix}.live"),
            prefix: prefix.to_string(),
        }
    }

    pub fn queue(&self, route: Route) -> String {
        format!("{}.{}", self.prefix, route.as_str())
    }

    /// The live queue of one dispatcher node.
    pub fn live_queue(&self, node: &str) -> String {
        format!("{}.live.{node}", self.prefix)
    }

    /// Every queue of the topology (what a test removes when it is done).
    pub fn queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = Route::ALL.iter().map(|r| self.queue(*r)).collect();
        queues.push(self.dead_queue.clone());
        queues
    }
}
