//! Sharing the shards out among the schedulers alive. Each scheduler announces itself in Redis
//! every [`HEARTBEAT`], for [`TTL`], and learns who else is alive. A shard belongs to the scheduler
//! with the highest weight for it (rendezvous hashing of scheduler and shard), so every scheduler
//! agrees without talking, and when one joins or leaves only its share of the shards moves.
//!
//! A scheduler claims its own shards when their clocks say so, the others only at the sweep (see
//! [`crate::clocks`]): N schedulers cost Redis about what one does, where all of them racing for
//! every due shard cost it N times the claims. A shard whose owner died is still fired, at most a
//! sweep late, until the owner's announcement runs out and the shard moves.
//!
//! Every scheduler's list holds itself, so the true owner of a shard (the highest weight among all
//! alive) always counts itself the owner: no shard is ever left without one, though for up to a
//! heartbeat two may both claim it, which costs a claim and nothing else (claims are atomic).

use herald_backend::store::schedule::ScheduleStore;
use std::time::{Duration, Instant};

/// How often a scheduler announces itself.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long an announcement lasts: a scheduler that stopped announcing itself this long ago is
/// dead, and its shards move.
pub const TTL: Duration = Duration::from_secs(3);

/// This scheduler among the others.
pub struct Membership {
    id: String,
    beaten_at: Option<Instant>,
}

impl Default for Membership {
    fn default() -> Self {
        Self::new()
    }
}

impl Membership {
    pub fn new() -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            beaten_at: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// How long until the next announcement is due.
    pub fn until_due(&self) -> Duration {
        self.beaten_at
            .map_or(Duration::ZERO, |at| HEARTBEAT.saturating_sub(at.elapsed()))
    }

    /// Announces this scheduler; which of the `shards` it owns. When Redis cannot be asked, it
    /// owns them all: the worst that does is claim a shard another scheduler also claims.
    pub async fn beat(&mut self, schedule: &dyn ScheduleStore, shards: u32) -> Vec<bool> {
        self.beaten_at = Some(Instant::now());
        match schedule.heartbeat(&self.id, TTL).await {
            Ok(alive) => owned(&self.id, &alive, shards),
            Err(err) => {
                tracing::warn!(error = %err, "scheduler heartbeat failed; claiming every shard");
                vec![true; shards as usize]
            }
        }
    }
}

/// Which of the `shards` scheduler `me` owns, among the schedulers `alive`.
pub fn owned(me: &str, alive: &[String], shards: u32) -> Vec<bool> {
    (0..shards)
        .map(|shard| owner(alive, shard).is_none_or(|owner| owner == me))
        .collect()
}

/// The owner of `shard` among `alive`: the highest weight (ties, which a 64-bit hash all but
/// rules out, go to the greater id).
fn owner(alive: &[String], shard: u32) -> Option<&str> {
    alive
        .iter()
        .max_by_key(|id| (weight(id, shard), id.as_str()))
        .map(String::as_str)
}

/// A scheduler's weight for a shard: FNV-1a over both, then a 64-bit finalizer (SplitMix64) to
/// spread it. Fixed here, not `std`'s hasher, so schedulers of different builds agree.
fn weight(id: &str, shard: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain(shard.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|_| Membership::new().id).collect()
    }

    #[test]
    fn every_shard_has_exactly_one_owner() {
        let alive = ids(3);
        let views: Vec<Vec<bool>> = alive.iter().map(|me| owned(me, &alive, 64)).collect();
        for shard in 0..64 {
            let owners = views.iter().filter(|view| view[shard]).count();
            assert_eq!(owners, 1, "shard {shard}");
        }
        // Rendezvous hashing spreads them: each of three gets a fair share of 64.
        for view in &views {
            let share = view.iter().filter(|&&own| own).count();
            assert!((8..=36).contains(&share), "{share} of 64");
        }
    }

    #[test]
    fn a_scheduler_that_knows_of_no_other_owns_every_shard() {
        let me = ids(1);
        assert_eq!(owned(&me[0], &me, 4), [true; 4]);
    }

    #[test]
    fn the_true_owner_counts_itself_owner_whatever_others_it_has_not_heard_of_yet() {
        let alive = ids(4);
        for shard in 0..32 {
            let owner = owner(&alive, shard).unwrap();
            // A view that misses some of the others, but holds the owner itself.
            let partial: Vec<String> = alive
                .iter()
                .filter(|id| *id == owner || id.as_bytes()[0] % 2 == 0)
                .cloned()
                .collect();
            assert!(owned(owner, &partial, 32)[shard as usize]);
        }
    }

    #[test]
    fn when_a_scheduler_leaves_only_its_shards_move() {
        let alive = ids(4);
        let remaining = alive[1..].to_vec();
        for shard in 0..64 {
            let before = owner(&alive, shard).unwrap();
            let after = owner(&remaining, shard).unwrap();
            if before != alive[0] {
                assert_eq!(
                    before, after,
                    "shard {shard} moved between schedulers that stayed"
                );
            }
        }
    }

    #[test]
    fn weights_are_fixed_across_builds() {
        // Pinned values: a change here makes schedulers of two builds disagree on owners.
        assert_eq!(weight("a", 0), 3_469_425_430_991_769_543);
        assert_eq!(weight("a", 1), 17_661_658_215_173_820_085);
    }
}
