//! Which shards a round claims. Each shard has a clock: when it next needs a claim, which is the
//! earliest due time or lease deadline its last claim reported, or sooner when a wake-up signals
//! a new entry. A round claims only the shards whose time has come, so Redis's work follows what
//! comes due, not shards × rounds × schedulers (claiming all 16 shards every round, three
//! schedulers kept Redis half busy with empty claims at 5,000 due/s, and their lateness rose).
//!
//! What a clock cannot know of: entries another scheduler leased (due again if that scheduler
//! dies) or scheduled by its commits (it fires those itself, unless it dies). So every shard is
//! still claimed at least every [`SWEEP`], which bounds how late they can be when a scheduler
//! dies, on top of the lease.
//!
//! Times are Redis's clock. Between claims it is followed on this node's clock, from the offset
//! seen at the last claim (taken when its answer arrived, so the estimate lags Redis by at most a
//! round trip, and a shard is never claimed before its time).

use herald_backend::store::schedule::Woken;
use herald_runtime::clock::now_us;
use std::time::Duration;

/// The longest a shard goes unclaimed.
pub const SWEEP: Duration = Duration::from_secs(1);

/// The clocks of every shard.
#[derive(Debug)]
pub struct ShardClocks {
    /// When each shard next needs a claim (µs); `i64::MIN`: at once.
    wake_at: Vec<i64>,
    /// When each shard was last claimed (µs).
    claimed_at: Vec<i64>,
    /// Redis's clock minus this node's, µs.
    offset_us: i64,
}

impl ShardClocks {
    /// Every shard needs a claim at once.
    pub fn new(shards: u32) -> Self {
        Self {
            wake_at: vec![i64::MIN; shards as usize],
            claimed_at: vec![i64::MIN; shards as usize],
            offset_us: 0,
        }
    }

    /// Redis's clock now (µs), as this node follows it.
    fn now(&self) -> i64 {
        now_us() + self.offset_us
    }

    /// Redis's clock minus this node's, µs, as of the last claim.
    pub fn offset_us(&self) -> i64 {
        self.offset_us
    }

    /// Takes in what wake-ups signalled.
    pub fn woken(&mut self, woken: Woken) {
        if woken.every_shard {
            self.wake_at.fill(i64::MIN);
        }
        for (shard, due_ms) in woken.shards {
            if let Some(wake_at) = self.wake_at.get_mut(shard as usize) {
                *wake_at = (*wake_at).min(due_ms.saturating_mul(1000));
            }
        }
    }

    /// The shards to claim now.
    pub fn due(&self) -> Vec<u32> {
        let now = self.now();
        let sweep = SWEEP.as_micros() as i64;
        (0..self.wake_at.len())
            .filter(|&s| self.wake_at[s] <= now || now.saturating_sub(self.claimed_at[s]) >= sweep)
            .map(|s| s as u32)
            .collect()
    }

    /// Records a claim of `shard` made at `claimed_us` (Redis's clock), whose answer arrived at
    /// `answered_us` (this node's): the shard next needs one at `next_ms` (`None`: only at the
    /// sweep; `Some` in the past: at once, as when the claim took a full batch and more is due).
    pub fn claimed(&mut self, shard: u32, claimed_us: i64, answered_us: i64, next_ms: Option<i64>) {
        let shard = shard as usize;
        if shard >= self.wake_at.len() {
            return;
        }
        self.offset_us = claimed_us - answered_us;
        self.claimed_at[shard] = claimed_us;
        self.wake_at[shard] = next_ms.map_or(i64::MAX, |ms| ms.saturating_mul(1000));
    }

    /// How long until some shard needs a claim.
    pub fn pause(&self) -> Duration {
        let sweep = SWEEP.as_micros() as i64;
        let next = (0..self.wake_at.len())
            .map(|s| self.wake_at[s].min(self.claimed_at[s].saturating_add(sweep)))
            .min()
            .unwrap_or(i64::MAX);
        Duration::from_micros(next.saturating_sub(self.now()).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Clocks whose every shard was just claimed with nothing left.
    fn idle(shards: u32) -> (ShardClocks, i64) {
        let mut clocks = ShardClocks::new(shards);
        let now = now_us();
        for shard in 0..shards {
            clocks.claimed(shard, now, now, None);
        }
        (clocks, now)
    }

    #[test]
    fn every_shard_is_claimed_first() {
        assert_eq!(ShardClocks::new(3).due(), [0, 1, 2]);
    }

    #[test]
    fn an_idle_shard_waits_for_the_sweep() {
        let (clocks, _) = idle(4);
        assert!(clocks.due().is_empty());
        let pause = clocks.pause();
        assert!(
            pause > SWEEP - Duration::from_millis(100) && pause <= SWEEP,
            "{pause:?}"
        );
    }

    #[test]
    fn a_shard_is_claimed_when_its_next_due_time_has_come_and_not_before() {
        let (mut clocks, now) = idle(4);
        let now_ms = now / 1000;
        clocks.claimed(1, now, now, Some(now_ms - 1));
        clocks.claimed(2, now, now, Some(now_ms + 60_000));
        assert_eq!(clocks.due(), [1]);
        assert_eq!(clocks.pause(), Duration::ZERO);
    }

    #[test]
    fn the_pause_runs_to_the_earliest_shard() {
        let (mut clocks, now) = idle(4);
        clocks.claimed(3, now, now, Some(now / 1000 + 200));
        let pause = clocks.pause();
        assert!(
            pause > Duration::from_millis(100) && pause <= Duration::from_millis(200),
            "{pause:?}"
        );
    }

    #[test]
    fn a_wake_up_brings_its_shard_forward_and_never_back() {
        let (mut clocks, now) = idle(4);
        let now_ms = now / 1000;
        clocks.claimed(2, now, now, Some(now_ms - 5));
        clocks.woken(Woken {
            every_shard: false,
            shards: BTreeMap::from([(0, now_ms - 1), (2, now_ms + 60_000), (9, now_ms)]),
        });
        assert_eq!(clocks.due(), [0, 2]);
    }

    #[test]
    fn a_wake_up_of_every_shard_claims_them_all() {
        let (mut clocks, _) = idle(3);
        clocks.woken(Woken {
            every_shard: true,
            shards: BTreeMap::new(),
        });
        assert_eq!(clocks.due(), [0, 1, 2]);
    }
}
