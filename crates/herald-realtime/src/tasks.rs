//! The realtime server's tasks (its connections, and its sessions' event loops and forwarders),
//! kept so that shutdown can wait for them and abort what outlives the drain timeout.

use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::task::{JoinError, JoinSet};

/// A set of running tasks, shared by whoever spawns them.
#[derive(Clone, Default)]
pub(crate) struct Tasks(Arc<Mutex<JoinSet<()>>>);

impl Tasks {
    /// Runs `task`, kept in the set until it ends.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // The ended are reaped here, so the set holds about the running tasks only.
        while let Some(ended) = set.try_join_next() {
            report(ended);
        }
        set.spawn(task);
    }

    /// Waits until every task has ended, those spawned meanwhile too. Dropping the wait (the
    /// drain timed out) aborts the tasks still running.
    pub(crate) async fn join_all(&self) {
        loop {
            let mut set = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
            if set.is_empty() {
                return;
            }
            while let Some(ended) = set.join_next().await {
                report(ended);
            }
        }
    }
}

/// A task that panicked is a bug worth the log; one aborted was meant to be.
fn report(ended: Result<(), JoinError>) {
    if let Err(err) = ended {
        if err.is_panic() {
            tracing::error!(error = %err, "a realtime task panicked");
        }
    }
}
