//! The schedule in process memory, under the status records' lock (so cancel and fire have one
//! winner), with the same transitions as the Redis scripts. One shard; the node's clock.

use async_trait::async_trait;
use herald_core::status::{DeliveryKind, MessageStatus};
use herald_core::MessageId;
use herald_runtime::clock::{now_ms, now_us};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Claim, Fire, Member, NewEntry, Published, ScheduleStore, Wakeups};
use crate::error::StoreError;
use crate::store::status::memory::Entries;
use crate::store::status::MemoryStatusStore;

struct Entry {
    envelope: String,
    first_ms: i64,
    every_ms: i64,
    expires_ms: i64,
    next: u64,
}

#[derive(Clone, Copy)]
enum Position {
    Due(i64),
    Leased(i64),
}

/// The schedule's state, kept inside the memory status store.
#[derive(Default)]
pub(crate) struct ScheduleState {
    entries: HashMap<Member, Entry>,
    due: BTreeSet<(i64, String)>,
    leased: BTreeSet<(i64, String)>,
    positions: HashMap<String, (Member, Position)>,
}

impl ScheduleState {
    /// Removes the entry of a cancelled message (its index position goes stale: fire says Gone).
    pub(crate) fn remove(&mut self, app: &str, id: MessageId) {
        self.entries.remove(&Member {
            app: app.to_string(),
            id,
        });
    }

    fn place(&mut self, member: &Member, position: Option<Position>) {
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
        match position {
            Some(Position::Due(t)) => {
                self.due.insert((t, key.clone()));
            }
            Some(Position::Leased(t)) => {
                self.leased.insert((t, key.clone()));
            }
            None => return,
        }
        if let Some(position) = position {
            self.positions.insert(key, (member.clone(), position));
        }
    }

    fn members_up_to(set: &BTreeSet<(i64, String)>, now: i64, batch: usize) -> Vec<String> {
        set.iter()
            .take_while(|(t, _)| *t <= now)
            .take(batch)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

/// An in-memory [`ScheduleStore`], sharing the lock of a [`MemoryStatusStore`].
pub struct MemoryScheduleStore {
    statuses: Arc<MemoryStatusStore>,
    wake: Arc<Wakeups>,
}

impl MemoryScheduleStore {
    pub fn new(statuses: Arc<MemoryStatusStore>) -> Self {
        Self {
            statuses,
            wake: Arc::default(),
        }
    }
}

#[async_trait]
impl ScheduleStore for MemoryScheduleStore {
    fn shards(&self) -> u32 {
        1
    }

    fn wakeups(&self, _shutdown: tokio_util::sync::CancellationToken) -> Arc<Wakeups> {
        self.wake.clone()
    }

    async fn store(&self, entry: NewEntry<'_>) -> Result<Option<i64>, StoreError> {
        let stored = self.statuses.with(|all| {
            let scheduled = all
                .live(&entry.member.app, entry.member.id)
                .is_some_and(|e| e.record.status == MessageStatus::Scheduled);
            if !scheduled {
                return None;
            }
            let schedule = &mut all.schedule;
            let stored = schedule
                .entries
                .entry(entry.member.clone())
                .or_insert_with(|| Entry {
                    envelope: entry.envelope.to_string(),
                    first_ms: entry.first_at_ms,
                    every_ms: entry.every_seconds as i64 * 1000,
                    expires_ms: entry.expires_at_ms,
                    next: 0,
                });
            let due = stored.first_ms + stored.next as i64 * stored.every_ms;
            schedule.place(entry.member, Some(Position::Due(due)));
            Some(due)
        });
        if let Some(due) = stored {
            self.wake.shard(0, due);
        }
        Ok(stored)
    }

    async fn claim(&self, _shard: u32, batch: usize, lease: Duration) -> Result<Claim, StoreError> {
        let now_us = now_us();
        let now = now_us / 1000;
        Ok(self.statuses.with(|all| {
            let schedule = &mut all.schedule;
            let expired = ScheduleState::members_up_to(&schedule.leased, now, batch);
            for key in &expired {
                let member = schedule.positions[key].0.clone();
                schedule.place(&member, Some(Position::Due(now)));
            }
            let claimed = ScheduleState::members_up_to(&schedule.due, now, batch);
            let deadline = now + lease.as_millis() as i64;
            let mut members = Vec::with_capacity(claimed.len());
            for key in &claimed {
                let member = schedule.positions[key].0.clone();
                schedule.place(&member, Some(Position::Leased(deadline)));
                members.push(member);
            }
            Claim {
                now_ms: now,
                now_us,
                expired_leases: expired.len() as u64,
                next_due_ms: schedule.due.first().map(|(t, _)| *t),
                next_lease_ms: schedule.leased.first().map(|(t, _)| *t),
                pending: schedule.due.len() as u64,
                in_flight: schedule.leased.len() as u64,
                members,
            }
        }))
    }

    async fn fire(&self, _shard: u32, members: &[Member]) -> Result<Vec<Fire>, StoreError> {
        let now = now_ms();
        Ok(self.statuses.with(|all| {
            members
                .iter()
                .map(|member| {
                    let fire = fire_one(all, member, now);
                    match fire {
                        Fire::Gone => all.schedule.place(member, None),
                        Fire::NotDue(due) => all.schedule.place(member, Some(Position::Due(due))),
                        Fire::Now { .. } => {}
                    }
                    fire
                })
                .collect()
        }))
    }

    async fn commit(
        &self,
        _shard: u32,
        published: &[Published<'_>],
        status_ttl: Duration,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        Ok(self.statuses.with(|all| {
            published
                .iter()
                .map(|p| {
                    let next = commit_one(all, p.member, p.occurrence, status_ttl);
                    all.schedule.place(p.member, next.map(Position::Due));
                    next
                })
                .collect()
        }))
    }
}

/// Whether one claimed entry fires now (`schedule_fire.lua`).
fn fire_one(all: &mut Entries, member: &Member, now: i64) -> Fire {
    let scheduled = all
        .live(&member.app, member.id)
        .is_some_and(|s| s.record.status == MessageStatus::Scheduled);
    let Some(entry) = all.schedule.entries.get_mut(member).filter(|_| scheduled) else {
        return Fire::Gone;
    };
    let mut due = entry.first_ms + entry.next as i64 * entry.every_ms;
    if due > now {
        return Fire::NotDue(due);
    }
    let mut skipped = 0;
    if entry.every_ms > 0 {
        let mut latest = ((now - entry.first_ms) / entry.every_ms) as u64;
        if entry.expires_ms > 0 {
            latest = latest.min(((entry.expires_ms - entry.first_ms) / entry.every_ms) as u64);
        }
        if latest > entry.next {
            skipped = latest - entry.next;
            entry.next = latest;
            due = entry.first_ms + latest as i64 * entry.every_ms;
        }
    }
    let one_shot = entry.every_ms == 0;
    let fire = Fire::Now {
        occurrence: entry.next,
        envelope: entry.envelope.clone(),
        due_ms: due,
        skipped,
        repeating: !one_shot,
    };
    if let Some(status) = all.live(&member.app, member.id) {
        if one_shot {
            // A one-shot message on its way can no longer be cancelled.
            status.kind = DeliveryKind::Immediate;
        }
        if skipped > 0 {
            status
                .record
                .occurrences
                .get_or_insert_with(Default::default)
                .skipped += skipped;
        }
    }
    fire
}

/// Records one published occurrence (`schedule_commit.lua`); the next one's due time.
fn commit_one(
    all: &mut Entries,
    member: &Member,
    occurrence: u64,
    status_ttl: Duration,
) -> Option<i64> {
    let entry = all.schedule.entries.get_mut(member)?;
    if occurrence < entry.next {
        return Some(entry.first_ms + entry.next as i64 * entry.every_ms);
    }
    let next = occurrence + 1;
    let due = entry.first_ms + next as i64 * entry.every_ms;
    let repeating = entry.every_ms > 0;
    let finished = !repeating || (entry.expires_ms > 0 && due > entry.expires_ms);
    if finished {
        all.schedule.entries.remove(member);
    } else {
        entry.next = next;
    }
    if let Some(status) = all.live(&member.app, member.id) {
        status
            .record
            .occurrences
            .get_or_insert_with(Default::default)
            .fired += 1;
        if !finished {
            let lasts = Duration::from_millis((due - now_ms()).max(0) as u64) + status_ttl;
            status.expires = status.expires.max(Instant::now() + lasts);
        } else if repeating && status.record.status == MessageStatus::Scheduled {
            // The last occurrence of a repeating message is its publication; a one-shot
            // message is marked published by the dispatcher.
            status.record.status = MessageStatus::Published;
            status.expires = Instant::now() + status_ttl;
        }
    }
    (!finished).then_some(due)
}
