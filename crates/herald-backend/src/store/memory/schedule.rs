//! The memory store's schedule: the transitions of the Redis scripts (`schedule_*.lua`), with
//! the time rules of `herald_core::schedule`. One shard; the store's clock.

use async_trait::async_trait;
use herald_core::schedule::ttl_until;
use herald_core::status::DeliveryKind;
use herald_core::MessageStatus;
use std::sync::Arc;
use std::time::Duration;

use super::state::{deadline, members_up_to, MemoryStore, Position, ScheduleEntry, State};
use crate::error::StoreError;
use crate::store::schedule::{Claim, Fire, Member, NewEntry, Published, ScheduleStore, Wakeups};

#[async_trait]
impl ScheduleStore for MemoryStore {
    fn shards(&self) -> u32 {
        1
    }

    fn wakeups(&self, _shutdown: tokio_util::sync::CancellationToken) -> Arc<Wakeups> {
        self.wake.clone()
    }

    /// `schedule_store.lua`.
    async fn store(&self, entry: NewEntry<'_>) -> Result<Option<i64>, StoreError> {
        if entry.schedule.first_at_ms().is_none() {
            return Err(StoreError::Unexpected(
                "an immediate message has no place in the schedule".into(),
            ));
        }
        let stored = self.with(|state, now| {
            if !state.is_scheduled(&entry.member.app, entry.member.id, now) {
                return None;
            }
            let stored = state
                .entries
                .entry(entry.member.clone())
                .or_insert_with(|| ScheduleEntry {
                    envelope: entry.envelope.to_string(),
                    schedule: entry.schedule,
                    next: 0,
                    expires_ms: deadline(now, entry.ttl),
                });
            let due = stored.schedule.occurrence_at(stored.next, now)?;
            state.place(entry.member, Some(Position::Due(due)));
            Some(due)
        });
        if let Some(due) = stored {
            self.wake.shard(0, due);
        }
        Ok(stored)
    }

    /// `schedule_claim.lua`.
    async fn claim(&self, _shard: u32, batch: usize, lease: Duration) -> Result<Claim, StoreError> {
        let now_us = self.clock.now_us();
        Ok(self.with(|state, _| {
            let now = now_us.div_euclid(1000);
            let expired = members_up_to(&state.leased, now, batch);
            for key in &expired {
                if let Some(member) = state.member(key) {
                    state.place(&member, Some(Position::Due(now)));
                }
            }
            let claimed = members_up_to(&state.due, now, batch);
            let leased_until = deadline(now, lease);
            let mut members = Vec::with_capacity(claimed.len());
            for key in &claimed {
                if let Some(member) = state.member(key) {
                    state.place(&member, Some(Position::Leased(leased_until)));
                    members.push(member);
                }
            }
            Claim {
                now_ms: now,
                now_us,
                expired_leases: expired.len() as u64,
                next_due_ms: state.due.first().map(|(t, _)| *t),
                next_lease_ms: state.leased.first().map(|(t, _)| *t),
                pending: state.due.len() as u64,
                in_flight: state.leased.len() as u64,
                members,
            }
        }))
    }

    /// `schedule_fire.lua`.
    async fn fire(&self, _shard: u32, members: &[Member]) -> Result<Vec<Fire>, StoreError> {
        Ok(self.with(|state, now| {
            members
                .iter()
                .map(|member| {
                    let fire = fire_one(state, member, now);
                    match fire {
                        Fire::Gone => {
                            // Cancelled or expired for good: no redelivery can bring it back.
                            state.entries.remove(member);
                            state.place(member, None);
                        }
                        Fire::NotDue(due) => state.place(member, Some(Position::Due(due))),
                        Fire::Now { .. } => {}
                    }
                    fire
                })
                .collect()
        }))
    }

    /// `schedule_commit.lua`.
    async fn commit(
        &self,
        _shard: u32,
        published: &[Published<'_>],
        status_ttl: Duration,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        Ok(self.with(|state, now| {
            published
                .iter()
                .map(|p| {
                    let next = commit_one(state, p.member, p.occurrence, status_ttl, now);
                    state.place(p.member, next.map(Position::Due));
                    next
                })
                .collect()
        }))
    }
}

/// Whether one claimed entry fires at `now`.
fn fire_one(state: &mut State, member: &Member, now: i64) -> Fire {
    if !state.is_scheduled(&member.app, member.id, now) {
        return Fire::Gone;
    }
    let Some(entry) = state.entries.get_mut(member).filter(|e| e.expires_ms > now) else {
        return Fire::Gone;
    };
    let schedule = entry.schedule;
    let Some(mut due) = schedule.occurrence_at(entry.next, now) else {
        return Fire::Gone;
    };
    if due > now {
        return Fire::NotDue(due);
    }
    let mut skipped = 0;
    if let Some(latest) = schedule.latest_due(now).filter(|&k| k > entry.next) {
        if let Some(at) = schedule.occurrence_at(latest, now) {
            skipped = latest - entry.next;
            entry.next = latest;
            due = at;
        }
    }
    let repeating = schedule.is_repeating();
    let fire = Fire::Now {
        occurrence: entry.next,
        envelope: entry.envelope.clone(),
        due_ms: due,
        skipped,
        repeating,
    };
    if let Some(status) = state.live(&member.app, member.id, now) {
        if !repeating {
            // A one-shot message on its way can no longer be cancelled, and its only occurrence
            // counts now (set, not added: firing it again after a failed publish counts it once).
            status.kind = DeliveryKind::Immediate;
            status
                .record
                .occurrences
                .get_or_insert_with(Default::default)
                .fired = 1;
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

/// Records one published occurrence; the next one's due time.
fn commit_one(
    state: &mut State,
    member: &Member,
    occurrence: u64,
    status_ttl: Duration,
    now: i64,
) -> Option<i64> {
    let entry = state
        .entries
        .get_mut(member)
        .filter(|e| e.expires_ms > now)?;
    let schedule = entry.schedule;
    if occurrence < entry.next {
        return schedule.occurrence_at(entry.next, now);
    }
    let next = occurrence.checked_add(1);
    let due = next.and_then(|k| schedule.occurrence_at(k, now));
    match (due, next) {
        (Some(due), Some(k)) => {
            entry.next = k;
            entry.expires_ms = deadline(now, ttl_until(due, now, status_ttl));
        }
        _ => {
            state.entries.remove(member);
        }
    }
    if let Some(status) = state.live(&member.app, member.id, now) {
        if schedule.is_repeating() {
            // A one-shot message's occurrence was counted when it fired.
            status
                .record
                .occurrences
                .get_or_insert_with(Default::default)
                .fired += 1;
        }
        match due {
            // Until the next occurrence and a status lifetime after it, as the entry.
            Some(due) => status.expires_ms = deadline(now, ttl_until(due, now, status_ttl)),
            None if schedule.is_repeating() && status.record.status == MessageStatus::Scheduled => {
                // The last occurrence of a repeating message is its publication; a one-shot
                // message is marked published by the dispatcher.
                status.record.status = MessageStatus::Published;
                status.expires_ms = deadline(now, status_ttl);
            }
            None => {}
        }
    }
    due
}
