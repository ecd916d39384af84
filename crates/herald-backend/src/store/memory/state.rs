//! What the memory store keeps, under its one lock: status records with their deadlines, and the
//! schedule's entries with their due and lease positions.

use herald_core::schedule::Schedule;
use herald_core::status::{DeliveryKind, StatusRecord};
use herald_core::MessageId;
use herald_runtime::clock::Clock;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::schedule::{Member, Wakeups};

/// Expired records are swept at most this often, so memory stays bounded by about one TTL of
/// records without a scan on every call.
const SWEEP_EVERY_MS: i64 = 1_000;

/// The status records and the schedule of one process, in memory.
pub struct MemoryStore {
    state: Mutex<State>,
    /// How long a final record is kept.
    pub(super) ttl: Duration,
    pub(super) clock: Clock,
    pub(super) wake: Arc<Wakeups>,
}

impl MemoryStore {
    /// A store keeping final records for `ttl`, on `clock`.
    pub fn new(ttl: Duration, clock: Clock) -> Self {
        Self {
            state: Mutex::default(),
            ttl,
            clock,
            wake: Arc::default(),
        }
    }

    /// Runs `f` under the lock, at the clock's time now (ms).
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut State, i64) -> R) -> R {
        let now = self.clock.now_ms();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state
            .last_sweep_ms
            .is_none_or(|at| now.saturating_sub(at) >= SWEEP_EVERY_MS)
        {
            state.statuses.retain(|_, e| e.expires_ms > now);
            // An expired entry's member may stay in a set: its claim finds it gone, as on Redis.
            state.entries.retain(|_, e| e.expires_ms > now);
            state.last_sweep_ms = Some(now);
        }
        f(&mut state, now)
    }
}

/// A status record and when it expires.
pub(super) struct StatusEntry {
    pub(super) record: StatusRecord,
    pub(super) kind: DeliveryKind,
    /// The clock's time (ms) from which the record is gone.
    pub(super) expires_ms: i64,
}

/// A message in the schedule.
pub(super) struct ScheduleEntry {
    pub(super) envelope: String,
    pub(super) schedule: Schedule,
    /// The occurrence it is waiting for (or firing).
    pub(super) next: u64,
    /// The clock's time (ms) from which the entry is gone, as its Redis keys expire.
    pub(super) expires_ms: i64,
}

#[derive(Clone, Copy)]
pub(super) enum Position {
    Due(i64),
    Leased(i64),
}

#[derive(Default)]
pub(super) struct State {
    statuses: HashMap<(String, MessageId), StatusEntry>,
    last_sweep_ms: Option<i64>,
    pub(super) entries: HashMap<Member, ScheduleEntry>,
    /// The due set: (due time, member).
    pub(super) due: BTreeSet<(i64, String)>,
    /// The lease set: (lease deadline, member).
    pub(super) leased: BTreeSet<(i64, String)>,
    positions: HashMap<String, (Member, Position)>,
}

impl State {
    /// The record of `id` if it has not expired at `now`.
    pub(super) fn live(&mut self, app: &str, id: MessageId, now: i64) -> Option<&mut StatusEntry> {
        let key = (app.to_string(), id);
        if self.statuses.get(&key).is_some_and(|e| e.expires_ms <= now) {
            self.statuses.remove(&key);
        }
        self.statuses.get_mut(&key)
    }

    /// Whether `id` has a live record that is still scheduled.
    pub(super) fn is_scheduled(&mut self, app: &str, id: MessageId, now: i64) -> bool {
        self.live(app, id, now)
            .is_some_and(|e| e.record.status == herald_core::MessageStatus::Scheduled)
    }

    pub(super) fn insert_status(&mut self, app: &str, id: MessageId, entry: StatusEntry) {
        self.statuses.insert((app.to_string(), id), entry);
    }

    pub(super) fn remove_status(&mut self, app: &str, id: MessageId) {
        self.statuses.remove(&(app.to_string(), id));
    }

    /// Removes the entry of a cancelled message (its index position goes stale: fire says Gone).
    pub(super) fn remove_entry(&mut self, app: &str, id: MessageId) {
        self.entries.remove(&Member {
            app: app.to_string(),
            id,
        });
    }

    /// Moves `member` to `position` in the sets (out of them for `None`).
    pub(super) fn place(&mut self, member: &Member, position: Option<Position>) {
        let key = member.encode();
        match self.positions.remove(&key) {
            Some((_, Position::Due(t))) => {
                self.due.remove(&(t, key.clone()));
            }
            Some((_, Position::Leased(t))) => {
                self.leased.remove(&(t, key.clone()));
            }
            None => {}
        }
        let Some(position) = position else {
            return;
        };
        match position {
            Position::Due(t) => self.due.insert((t, key.clone())),
            Position::Leased(t) => self.leased.insert((t, key.clone())),
        };
        self.positions.insert(key, (member.clone(), position));
    }

    /// The member a set names.
    pub(super) fn member(&self, key: &str) -> Option<Member> {
        self.positions.get(key).map(|(member, _)| member.clone())
    }
}

/// Up to `batch` members of `set` at or before `now`.
pub(super) fn members_up_to(set: &BTreeSet<(i64, String)>, now: i64, batch: usize) -> Vec<String> {
    set.iter()
        .take_while(|(t, _)| *t <= now)
        .take(batch)
        .map(|(_, m)| m.clone())
        .collect()
}

/// The clock's time `ttl` after `now`, ms.
pub(super) fn deadline(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}
