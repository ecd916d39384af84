//! Per-channel order inside one dispatcher. Deliveries are handled concurrently, but the messages
//! of one channel must reach subscribers in the order they left the queue (a publisher that waits
//! for each answer sees its messages in publish order). Each delivery takes its channel's turn in
//! arrival order, when it is taken from the queue, and gives it up once its message is sent on:
//! only the sending is serialized, not the waiting for confirms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Per channel, the last turn taken: its number and the signal it gives when done.
type Tails = HashMap<String, (u64, CancellationToken)>;

/// The turns of every channel with a delivery in flight.
#[derive(Clone, Default)]
pub struct Lanes {
    tails: Arc<Mutex<(u64, Tails)>>,
}

/// One delivery's place in its channel's lane.
pub struct Turn {
    previous: Option<CancellationToken>,
    lanes: Lanes,
    key: String,
    number: u64,
    done: CancellationToken,
}

impl Lanes {
    /// Queues behind the channel's last delivery. Call in arrival order.
    pub fn enter(&self, key: String) -> Turn {
        let done = CancellationToken::new();
        let mut guard = self.tails.lock().unwrap_or_else(|e| e.into_inner());
        let (counter, tails) = &mut *guard;
        *counter += 1;
        let number = *counter;
        let previous = tails
            .insert(key.clone(), (number, done.clone()))
            .map(|(_, signal)| signal);
        Turn {
            previous,
            lanes: self.clone(),
            key,
            number,
            done,
        }
    }
}

impl Turn {
    /// Waits until every earlier delivery of the channel has given up its turn.
    pub async fn wait(&mut self) {
        if let Some(previous) = self.previous.take() {
            previous.cancelled().await;
        }
    }
}

/// Dropping a turn gives it up, however the delivery ended, so a failed one never blocks its lane.
impl Drop for Turn {
    fn drop(&mut self) {
        let mut guard = self.lanes.tails.lock().unwrap_or_else(|e| e.into_inner());
        // The last in its lane removes the lane, so idle channels cost nothing.
        if guard
            .1
            .get(&self.key)
            .is_some_and(|(n, _)| *n == self.number)
        {
            guard.1.remove(&self.key);
        }
        drop(guard);
        self.done.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_turn_waits_for_the_earlier_ones_of_its_lane_only() {
        let lanes = Lanes::default();
        let first = lanes.enter("a".into());
        let mut second = lanes.enter("a".into());
        let mut other = lanes.enter("b".into());
        other.wait().await;
        let waiting = tokio::time::timeout(Duration::from_secs(1), second.wait()).await;
        assert!(
            waiting.is_err(),
            "the second waited while the first held the lane"
        );
        drop(first);
        second.wait().await;
        drop(second);
        drop(other);
        assert!(lanes.tails.lock().unwrap().1.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_turn_releases_the_next() {
        let lanes = Lanes::default();
        let first = lanes.enter("a".into());
        let mut second = lanes.enter("a".into());
        drop(first);
        second.wait().await;
    }
}
