//! The time rules: validation, occurrence times, missed occurrences and time to live.

use std::time::Duration;

use super::fields::ScheduleFields;
use crate::error::{ApiError, ErrorKind};

/// The longest time to live of a record: 2^53 ms (about 285,000 years), which Redis accepts as a
/// `PEXPIRE` (it refuses one whose deadline overflows) and Lua's numbers hold exactly.
pub const MAX_TTL: Duration = Duration::from_millis(1 << 53);

/// A validated schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Publish now.
    Immediate,
    /// Publish once, at `at_ms`.
    Delayed { at_ms: i64 },
    /// Occurrence k fires at `first_at_ms + k * every_seconds * 1000`, while not after
    /// `expires_at_ms` (forever, until cancelled, when `None`).
    Repeating {
        first_at_ms: i64,
        every_seconds: u64,
        expires_at_ms: Option<i64>,
    },
}

impl Schedule {
    /// Applies the time rules to `fields` at `now_ms`:
    /// - a `publishAt` more than `skew_tolerance_ms` in the past is 5030; within it, it means now;
    /// - `repeatEvery` repeats from `publishAt` (or now); without `repeatExpiresAt` it repeats
    ///   until cancelled; `repeatExpiresAt` without `repeatEvery` has nothing to end and is ignored;
    /// - a `repeatExpiresAt` in the past or before the first occurrence is 5003.
    ///
    /// What it accepts is [`Schedule::accepted`] of `fields` at `now_ms`.
    pub fn resolve(
        fields: ScheduleFields,
        now_ms: i64,
        skew_tolerance_ms: i64,
    ) -> Result<Self, ApiError> {
        let at = fields.publish_at;
        if at != 0 && at < now_ms.saturating_sub(skew_tolerance_ms) {
            return Err(ApiError::new(
                ErrorKind::InvalidPublishAt,
                format!(
                    "Invalid publishAt date in the delivery options: {at} is {} ms in the past",
                    now_ms.saturating_sub(at)
                ),
            ));
        }
        let expires = fields.repeat_expires_at;
        if fields.repeat_every != 0 && expires != 0 {
            let before = if expires < now_ms {
                Some("now")
            } else if expires < first_at(fields, now_ms) {
                Some("publishAt")
            } else {
                None
            };
            if let Some(before) = before {
                return Err(ApiError::new(
                    ErrorKind::InvalidRepeatExpiresAt,
                    format!(
                        "Invalid repeatExpiresAt date in delivery options: {expires} is before {before}"
                    ),
                ));
            }
        }
        Ok(Self::accepted(fields, now_ms))
    }

    /// The schedule `fields` resolve to for a message accepted at `accepted_at_ms`, without
    /// [`Schedule::resolve`]'s checks (they were made when it was accepted). It is total, so no
    /// envelope is refused for its schedule: a `publishAt` before the acceptance means the
    /// acceptance, and an expiry before the first occurrence leaves the first one only.
    pub fn accepted(fields: ScheduleFields, accepted_at_ms: i64) -> Self {
        let at_ms = first_at(fields, accepted_at_ms);
        if fields.repeat_every == 0 {
            return if at_ms > accepted_at_ms {
                Schedule::Delayed { at_ms }
            } else {
                Schedule::Immediate
            };
        }
        let expires_at_ms = match fields.repeat_expires_at {
            0 => None,
            expires => Some(expires.max(at_ms)),
        };
        Schedule::Repeating {
            first_at_ms: at_ms,
            every_seconds: fields.repeat_every,
            expires_at_ms,
        }
    }

    /// The schedule as the scheduler keeps it: an immediate message (which ingest never defers)
    /// is due once, when it was accepted.
    pub fn deferred(self, accepted_at_ms: i64) -> Self {
        match self {
            Schedule::Immediate => Schedule::Delayed {
                at_ms: accepted_at_ms,
            },
            deferred => deferred,
        }
    }

    /// When a deferred message's first occurrence is due; `None` for an immediate message, which
    /// is due whenever it is taken.
    pub fn first_at_ms(&self) -> Option<i64> {
        match *self {
            Schedule::Immediate => None,
            Schedule::Delayed { at_ms } => Some(at_ms),
            Schedule::Repeating { first_at_ms, .. } => Some(first_at_ms),
        }
    }

    /// Whether the message goes to the scheduler rather than straight to the dispatcher.
    pub fn is_deferred(&self) -> bool {
        !matches!(self, Schedule::Immediate)
    }

    /// Whether the message has more than one occurrence (it stays scheduled, and cancellable,
    /// between them).
    pub fn is_repeating(&self) -> bool {
        matches!(self, Schedule::Repeating { .. })
    }

    /// The interval between occurrences, s; 0 for a one-shot message.
    pub fn every_seconds(&self) -> u64 {
        match *self {
            Schedule::Repeating { every_seconds, .. } => every_seconds,
            _ => 0,
        }
    }

    /// The time after which a repeating message has no occurrence (`None`: until cancelled, or
    /// one-shot).
    pub fn expires_at_ms(&self) -> Option<i64> {
        match *self {
            Schedule::Repeating { expires_at_ms, .. } => expires_at_ms,
            _ => None,
        }
    }

    /// When occurrence `k` is due (an immediate message's only one at `now_ms`), or `None` past
    /// the last one. Anchored to the first occurrence, never to the previous fire, so repeats do
    /// not drift.
    pub fn occurrence_at(&self, k: u64, now_ms: i64) -> Option<i64> {
        match *self {
            Schedule::Immediate => (k == 0).then_some(now_ms),
            Schedule::Delayed { at_ms } => (k == 0).then_some(at_ms),
            Schedule::Repeating {
                first_at_ms,
                every_seconds,
                expires_at_ms,
            } => {
                let offset =
                    i64::try_from(k.checked_mul(every_seconds)?.checked_mul(1000)?).ok()?;
                let at = first_at_ms.checked_add(offset)?;
                match expires_at_ms {
                    Some(expires) if at > expires => None,
                    _ => Some(at),
                }
            }
        }
    }

    /// The number of the latest occurrence due at `now_ms`: not after it, and not after the
    /// last one; `None` before the first. A scheduler that comes back after missing occurrences
    /// fires this one and skips those before it.
    pub fn latest_due(&self, now_ms: i64) -> Option<u64> {
        let first = self.occurrence_at(0, now_ms)?;
        if first > now_ms {
            return None;
        }
        let Schedule::Repeating {
            every_seconds,
            expires_at_ms,
            ..
        } = *self
        else {
            return Some(0);
        };
        let every_ms = i128::from(every_seconds) * 1000;
        let until = expires_at_ms.map_or(now_ms, |expires| expires.min(now_ms));
        // `until >= first` (an expiry is never before the first occurrence), so this is >= 0,
        // and at most 2^64 / 1000: it fits.
        let k = (i128::from(until) - i128::from(first))
            .checked_div(every_ms)
            .unwrap_or(0);
        u64::try_from(k).ok()
    }

    /// The number of the last occurrence, `None` when it repeats until cancelled.
    pub fn last_occurrence(&self) -> Option<u64> {
        match *self {
            Schedule::Repeating {
                expires_at_ms: Some(expires),
                ..
            } => self.latest_due(expires),
            Schedule::Repeating { .. } => None,
            _ => Some(0),
        }
    }

    /// How long, from `now_ms`, a message's status record and pending entry must live: until its
    /// expiry (or its only occurrence), then `status_ttl` more. An endless repeat's records live
    /// until its first occurrence: the scheduler extends them at each commit ([`ttl_until`]).
    pub fn ttl(&self, now_ms: i64, status_ttl: Duration) -> Duration {
        let last = match *self {
            Schedule::Immediate => now_ms,
            Schedule::Delayed { at_ms } => at_ms,
            Schedule::Repeating {
                first_at_ms,
                expires_at_ms,
                ..
            } => expires_at_ms.unwrap_or(first_at_ms),
        };
        ttl_until(last, now_ms, status_ttl)
    }
}

/// How long, from `now_ms`, a record must live to outlast `until_ms` by `after` (just `after`
/// when `until_ms` is past), capped at [`MAX_TTL`].
pub fn ttl_until(until_ms: i64, now_ms: i64, after: Duration) -> Duration {
    let ahead = u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0);
    Duration::from_millis(ahead)
        .saturating_add(after)
        .min(MAX_TTL)
}

/// The first occurrence's time of a message accepted at `accepted_at_ms`: its `publishAt`, or
/// the acceptance when that is unset or earlier.
fn first_at(fields: ScheduleFields, accepted_at_ms: i64) -> i64 {
    match fields.publish_at {
        0 => accepted_at_ms,
        at => at.max(accepted_at_ms),
    }
}
