//! What the firing loop knows of each shard: the earliest time it may have something to claim.
//! A round claims only the shards with something due by now (or not known): claiming an empty
//! shard is a Redis script call for nothing, and with rounds back to back (thousands a second at
//! a steady load) such calls would be most of Redis's work. Anything that may put an entry due
//! sooner (a store by any scheduler, a commit's next occurrence) makes every shard unknown again.
//! What another scheduler does that no signal tells of (a commit's next occurrence, a claim whose
//! scheduler died and whose lease runs out) is seen within [`RECHECK_MS`]: every shard is claimed
//! at least that often, a few tiny script calls a second when idle.

use herald_backend::store::schedule::Claim;
use std::time::{Duration, Instant};

/// Longest a shard goes unclaimed, ms.
pub const RECHECK_MS: i64 = 1_000;

/// Per shard knowledge, on Redis's clock.
pub struct ShardClock {
    /// The earliest time (ms) each shard may have something due; `None`: not known, claim it.
    next: Vec<Option<i64>>,
    /// Each shard's entries waiting and claimed, as its last claim counted them.
    counts: Vec<(u64, u64)>,
    /// Redis's clock at the last claim, and when (this node's monotonic clock) it was read.
    redis_now: Option<(i64, Instant)>,
}

impl ShardClock {
    pub fn new(shards: u32) -> Self {
        Self {
            next: vec![None; shards as usize],
            counts: vec![(0, 0); shards as usize],
            redis_now: None,
        }
    }

    /// Something may be due sooner anywhere: claim every shard next round.
    pub fn forget_all(&mut self) {
        self.next.iter_mut().for_each(|next| *next = None);
    }

    /// A shard whose round failed: claim it again.
    pub fn forget(&mut self, shard: u32) {
        self.next[shard as usize] = None;
    }

    /// Redis's clock now, as far as this node can tell without asking.
    fn estimated_now(&self) -> Option<i64> {
        self.redis_now
            .map(|(at, read)| at + read.elapsed().as_millis() as i64)
    }

    /// The shards to claim this round.
    pub fn to_claim(&self) -> Vec<u32> {
        let now = self.estimated_now();
        (0..self.next.len() as u32)
            .filter(|&shard| match (self.next[shard as usize], now) {
                (Some(next), Some(now)) => next <= now,
                _ => true,
            })
            .collect()
    }

    /// What a shard's claim (and the entries it fired, not yet due) told.
    pub fn learn(&mut self, shard: u32, claim: &Claim, not_due: Option<i64>, full: bool) {
        self.redis_now = Some((claim.now_ms, Instant::now()));
        self.counts[shard as usize] = (claim.pending, claim.in_flight);
        // A full claim left more due: claim it again at once. Otherwise the earliest of what it
        // knows, and at the latest the recheck.
        self.next[shard as usize] = if full {
            None
        } else {
            [claim.next_due_ms, claim.next_lease_ms, not_due]
                .into_iter()
                .flatten()
                .chain([claim.now_ms + RECHECK_MS])
                .min()
        };
    }

    /// Entries waiting and entries claimed, over every shard as last counted.
    pub fn counts(&self) -> (u64, u64) {
        self.counts
            .iter()
            .fold((0, 0), |(p, f), (pending, in_flight)| {
                (p + pending, f + in_flight)
            })
    }

    /// How long until a shard is to be claimed again: zero when one is not known.
    pub fn pause(&self) -> Option<Duration> {
        let now = self.estimated_now();
        let mut earliest: Option<i64> = None;
        for next in &self.next {
            match (next, now) {
                (Some(next), Some(now)) => {
                    let wait = next - now;
                    earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
                }
                _ => return Some(Duration::ZERO),
            }
        }
        earliest.map(|wait| Duration::from_millis(wait.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(now_ms: i64, next_due_ms: Option<i64>) -> Claim {
        Claim {
            now_ms,
            next_due_ms,
            ..Claim::default()
        }
    }

    #[test]
    fn only_shards_with_something_due_are_claimed_until_something_new_may_be_due() {
        let mut clock = ShardClock::new(3);
        assert_eq!(clock.to_claim(), [0, 1, 2], "nothing known yet");
        let now = 1_000_000;
        clock.learn(0, &claim(now, Some(now + 600)), None, false);
        clock.learn(1, &claim(now, None), None, false);
        clock.learn(2, &claim(now, Some(now + 600)), Some(now - 5), false);
        assert_eq!(clock.to_claim(), [2], "shard 2 has an entry due");
        clock.learn(2, &claim(now, None), None, true);
        assert_eq!(clock.to_claim(), [2], "a full claim left more due");
        assert_eq!(clock.pause(), Some(Duration::ZERO));
        clock.learn(2, &claim(now, None), None, false);
        assert!(clock.to_claim().is_empty());
        let pause = clock.pause().expect("shard 0 has an entry");
        assert!(pause <= Duration::from_millis(600) && pause > Duration::from_millis(500));
        clock.forget_all();
        assert_eq!(clock.to_claim(), [0, 1, 2]);
    }

    #[test]
    fn every_shard_is_claimed_again_within_the_recheck_time() {
        let mut clock = ShardClock::new(2);
        for shard in 0..2 {
            clock.learn(shard, &claim(5, None), None, false);
        }
        let pause = clock.pause().expect("a recheck");
        assert!(pause <= Duration::from_millis(RECHECK_MS as u64));
        assert!(pause > Duration::from_millis(RECHECK_MS as u64 - 100));
        clock.forget(1);
        assert_eq!(clock.to_claim(), [1]);
    }
}
