//! Which shards a round claims. Each shard has a clock: when it next needs a claim, which is the
//! earliest due time or lease deadline its last claim reported, or sooner when a wake-up signals
//! a new entry. A round claims only the shards whose time has come, so Redis's work follows what
//! comes due, not shards × rounds × schedulers (claiming all 16 shards every round, three
//! schedulers ran about 30,000 claim scripts a second at 5,000 due/s, most of them empty).
//!
//! What a clock cannot know of: entries another scheduler leased (due again if that scheduler
//! dies) or scheduled by its commits (it fires those itself, unless it dies). So every shard is
//! still claimed at least every [`SWEEP`], which bounds how late they can be when a scheduler
//! dies, on top of the lease.
//!
//! Times are Redis's clock. Between claims it is followed on this node's clock, from the offset
//! the claims show: each claim's Redis time minus the node's time when the answer arrived. Every
//! such sample is at most the true offset (the answer arrives after Redis read its clock), short
//! by the round trip and by however late this task ran, so the clock takes the largest sample of
//! the last [`OFFSET_WINDOW`]: it lags Redis by little, never runs ahead of it (a shard is never
//! claimed before its time), and one late-handled answer does not make every shard late.

use herald_backend::store::schedule::Woken;
use herald_runtime::clock::Clock;
use std::time::Duration;

/// The longest a shard goes unclaimed.
pub const SWEEP: Duration = Duration::from_secs(1);

/// How long an offset sample counts (the clocks may drift apart slowly, e.g. under NTP).
pub const OFFSET_WINDOW: Duration = Duration::from_secs(10);

/// The clocks of every shard.
#[derive(Debug)]
pub struct ShardClocks {
    /// When each shard next needs a claim (µs); `i64::MIN`: at once.
    wake_at: Vec<i64>,
    /// When each shard was last claimed (µs).
    claimed_at: Vec<i64>,
    /// Redis's clock minus this node's, µs.
    offset: Offset,
    /// This node's clock.
    clock: Clock,
}

/// The largest offset sample of the current half window and of the one before.
#[derive(Debug)]
struct Offset {
    current: i64,
    previous: i64,
    /// When the current half window began (this node's clock, µs).
    began_us: i64,
}

impl Offset {
    fn new() -> Self {
        Self {
            current: i64::MIN,
            previous: i64::MIN,
            began_us: i64::MIN,
        }
    }

    fn sample(&mut self, offset_us: i64, at_us: i64) {
        let half = OFFSET_WINDOW.as_micros() as i64 / 2;
        if at_us.saturating_sub(self.began_us) >= half {
            self.previous = self.current;
            self.current = i64::MIN;
            self.began_us = at_us;
        }
        self.current = self.current.max(offset_us);
    }

    fn get(&self) -> i64 {
        match self.current.max(self.previous) {
            i64::MIN => 0,
            offset => offset,
        }
    }
}

impl ShardClocks {
    /// Every shard needs a claim at once; `clock` is this node's.
    pub fn new(shards: u32, clock: Clock) -> Self {
        Self {
            wake_at: vec![i64::MIN; shards as usize],
            claimed_at: vec![i64::MIN; shards as usize],
            offset: Offset::new(),
            clock,
        }
    }

    /// Redis's clock now (µs), as this node follows it.
    fn now(&self) -> i64 {
        self.clock.now_us().saturating_add(self.offset.get())
    }

    /// Redis's clock minus this node's, µs: the largest sample of the window.
    pub fn offset_us(&self) -> i64 {
        self.offset.get()
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

    /// When shard `s` next needs a claim (µs): its clock's time, or the sweep's if sooner.
    fn next_claim(&self, s: usize) -> i64 {
        let swept = self.claimed_at[s].saturating_add(SWEEP.as_micros() as i64);
        self.wake_at[s].min(swept)
    }

    /// The shards to claim now.
    pub fn due(&self) -> Vec<u32> {
        let now = self.now();
        (0..self.wake_at.len())
            .filter(|&s| self.next_claim(s) <= now)
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
        self.offset.sample(claimed_us - answered_us, answered_us);
        self.claimed_at[shard] = claimed_us;
        self.wake_at[shard] = next_ms.map_or(i64::MAX, |ms| ms.saturating_mul(1000));
    }

    /// How long until some shard needs a claim.
    pub fn pause(&self) -> Duration {
        let next = (0..self.wake_at.len())
            .map(|s| self.next_claim(s))
            .min()
            .unwrap_or(i64::MAX);
        Duration::from_micros(next.saturating_sub(self.now()).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_runtime::clock::ManualClock;
    use std::collections::BTreeMap;

    /// Clocks whose every shard was just claimed with nothing left.
    fn idle(shards: u32) -> (ShardClocks, i64) {
        let mut clocks = ShardClocks::new(shards, ManualClock::at_system_time().clock());
        let now = clocks.clock.now_us();
        for shard in 0..shards {
            clocks.claimed(shard, now, now, None);
        }
        (clocks, now)
    }

    #[test]
    fn the_offset_is_the_largest_recent_sample() {
        let mut offset = Offset::new();
        assert_eq!(offset.get(), 0);
        let second = 1_000_000;
        offset.sample(-300, 0);
        offset.sample(-200, second);
        // An answer handled late gives a smaller sample: it does not pull the clock back.
        offset.sample(-100_000, 2 * second);
        assert_eq!(offset.get(), -200);
        // Samples older than the window no longer count.
        offset.sample(-700, 6 * second);
        offset.sample(-800, 12 * second);
        assert_eq!(offset.get(), -700);
        offset.sample(-900, 17 * second);
        assert_eq!(offset.get(), -800);
    }

    #[test]
    fn every_shard_is_claimed_first() {
        assert_eq!(ShardClocks::new(3, Clock::system()).due(), [0, 1, 2]);
    }

    /// Asserts the pause runs to `from_us + target`: exactly `target` less the time passed since
    /// `from_us` (within a millisecond), however slowly the test runs.
    fn assert_pause_runs_to(clocks: &ShardClocks, from_us: i64, target: Duration) {
        let pause = clocks.pause();
        let passed = Duration::from_micros((clocks.clock.now_us() - from_us) as u64);
        assert!(pause <= target, "{pause:?} > {target:?}");
        assert!(
            pause + passed + Duration::from_millis(1) >= target,
            "{pause:?} + {passed:?} < {target:?}"
        );
    }

    #[test]
    fn an_idle_shard_waits_for_the_sweep() {
        let (clocks, now) = idle(4);
        assert!(clocks.due().is_empty());
        assert_pause_runs_to(&clocks, now, SWEEP);
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
        let next_ms = now / 1000 + 200;
        clocks.claimed(3, now, now, Some(next_ms));
        assert_pause_runs_to(
            &clocks,
            now,
            Duration::from_micros((next_ms * 1000 - now) as u64),
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
