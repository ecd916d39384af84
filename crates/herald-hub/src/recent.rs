//! The occurrences a node delivered lately, to drop a second copy: a dispatcher that stopped
//! between sending a message on and acknowledging it leaves the message to another dispatcher,
//! which sends it again. Bounded by time and by count.

use herald_core::OccurrenceId;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

pub struct Recent {
    window: Duration,
    cap: usize,
    seen: HashSet<OccurrenceId>,
    order: VecDeque<(Instant, OccurrenceId)>,
}

impl Recent {
    pub fn new(window: Duration, cap: usize) -> Self {
        Self {
            window,
            cap: cap.max(1),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `id`; false when it was seen within the window.
    pub fn first_time(&mut self, id: OccurrenceId, now: Instant) -> bool {
        while let Some((at, old)) = self.order.front() {
            if now.duration_since(*at) <= self.window {
                break;
            }
            self.seen.remove(old);
            self.order.pop_front();
        }
        if self.seen.contains(&id) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some((_, oldest)) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(id);
        self.order.push_back((now, id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::MessageId;

    fn occurrence(n: u64) -> OccurrenceId {
        OccurrenceId {
            message_id: MessageId::new_random(),
            occurrence: n,
        }
    }

    #[test]
    fn a_second_copy_within_the_window_is_dropped_and_later_ones_pass() {
        let mut recent = Recent::new(Duration::from_secs(10), 100);
        let start = Instant::now();
        let id = occurrence(0);
        assert!(recent.first_time(id, start));
        assert!(!recent.first_time(id, start + Duration::from_secs(5)));
        assert!(recent.first_time(id, start + Duration::from_secs(16)));
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_cap() {
        let mut recent = Recent::new(Duration::from_secs(60), 2);
        let now = Instant::now();
        let ids: Vec<_> = (0..3).map(occurrence).collect();
        for id in &ids {
            assert!(recent.first_time(*id, now));
        }
        assert!(recent.first_time(ids[0], now), "forgotten past the cap");
        assert!(!recent.first_time(ids[2], now));
    }
}
