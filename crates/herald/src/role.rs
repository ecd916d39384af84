//! The roles one herald binary can play.

use std::fmt;

/// A role, chosen by the subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The REST API: publish, status, cancel, polling subscriptions, app info.
    Ingest,
    /// Delayed and repeating delivery.
    Scheduler,
    /// Delivery to subscribers.
    Dispatcher,
    /// Every role in one process.
    Standalone,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Scheduler => "scheduler",
            Role::Dispatcher => "dispatcher",
            Role::Standalone => "standalone",
        }
    }

    pub fn serves_rest(self) -> bool {
        matches!(self, Role::Ingest | Role::Standalone)
    }

    pub fn schedules(self) -> bool {
        matches!(self, Role::Scheduler | Role::Standalone)
    }

    pub fn dispatches(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Standalone)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
