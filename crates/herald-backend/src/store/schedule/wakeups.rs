//! What a firing loop learns between two rounds: which shards got an entry due sooner than it
//! may know of (stored by any scheduler, or scheduled by its own commits), with the earliest new
//! due time of each. A signal is never lost: it stays until the loop takes it, and the loop is
//! woken (a wake-up arriving while the loop is busy makes its next wait return at once).

use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::Notify;

/// What was signalled since the loop last looked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Woken {
    /// Any shard may have something new (signals may have been missed, e.g. while a Redis
    /// subscription was being re-established).
    pub every_shard: bool,
    /// The earliest new due time (ms, the schedule's clock) of each shard signalled.
    pub shards: BTreeMap<u32, i64>,
}

/// The wake-up signals of one firing loop.
#[derive(Debug, Default)]
pub struct Wakeups {
    woken: Mutex<Woken>,
    notify: Notify,
}

impl Wakeups {
    /// An entry of `shard` is due at `due_ms`.
    pub fn shard(&self, shard: u32, due_ms: i64) {
        self.with(|woken| {
            let due = woken.shards.entry(shard).or_insert(due_ms);
            *due = (*due).min(due_ms);
        });
    }

    /// Any shard may have an entry due sooner than the loop knows.
    pub fn every_shard(&self) {
        self.with(|woken| woken.every_shard = true);
    }

    /// Waits for a signal (returns at once if one came since the last wait).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// What was signalled since the last call.
    pub fn take(&self) -> Woken {
        std::mem::take(&mut *self.woken.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn with(&self, change: impl FnOnce(&mut Woken)) {
        change(&mut self.woken.lock().unwrap_or_else(|e| e.into_inner()));
        self.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keeps_the_earliest_due_time_of_each_shard_until_taken() {
        let wakeups = Wakeups::default();
        wakeups.shard(3, 500);
        wakeups.shard(3, 200);
        wakeups.shard(3, 900);
        wakeups.shard(1, 700);
        let woken = wakeups.take();
        assert!(!woken.every_shard);
        assert_eq!(
            woken.shards.into_iter().collect::<Vec<_>>(),
            [(1, 700), (3, 200)]
        );
        assert_eq!(wakeups.take(), Woken::default());
    }

    #[tokio::test]
    async fn a_signal_sent_while_the_loop_is_busy_ends_its_next_wait() {
        let wakeups = Wakeups::default();
        wakeups.every_shard();
        tokio::time::timeout(Duration::from_secs(5), wakeups.changed())
            .await
            .expect("the signal sent before the wait ends it");
        assert!(wakeups.take().every_shard);
    }
}
