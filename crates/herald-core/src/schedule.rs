//! When a message is published: now, once at `publishAt`, or every `repeatEvery` seconds from
//! `publishAt` until `repeatExpiresAt` (or until cancelled). DESIGN.md's time rules live here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorKind};

/// The schedule fields exactly as the publisher sent them (0 when unset), which is also how
/// Backendless echoes them to subscribers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleFields {
    pub publish_at: i64,
    pub repeat_every: u64,
    pub repeat_expires_at: i64,
}

impl ScheduleFields {
    /// Reads the three fields from a publish body. Absent, `null` and `0` all mean unset (the JS
    /// SDK drops falsy options, other SDKs send 0); anything that is not a whole number is refused
    /// with the field's own error code.
    pub fn parse(body: &serde_json::Map<String, Value>) -> Result<Self, ApiError> {
        let publish_at = whole_number(
            body.get("publishAt"),
            ErrorKind::InvalidPublishAt,
            "publishAt",
        )?;
        let repeat_every = whole_number(
            body.get("repeatEvery"),
            ErrorKind::InvalidRepeatEvery,
            "repeatEvery",
        )?;
        let repeat_expires_at = whole_number(
            body.get("repeatExpiresAt"),
            ErrorKind::InvalidRepeatExpiresAt,
            "repeatExpiresAt",
        )?;
        let repeat_every = u64::try_from(repeat_every).map_err(|_| {
            ApiError::new(
                ErrorKind::InvalidRepeatEvery,
                "repeatEvery must be a whole number of seconds >= 1",
            )
        })?;
        Ok(Self {
            publish_at,
            repeat_every,
            repeat_expires_at,
        })
    }
}

fn whole_number(value: Option<&Value>, kind: ErrorKind, field: &str) -> Result<i64, ApiError> {
    let refuse = || {
        ApiError::new(
            kind,
            format!("{field} must be a whole number ({})", unit_of(field)),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            // 1.7e12 arrives as a float from some JSON encoders; accept it when it is integral.
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(refuse()),
        },
        Some(_) => Err(refuse()),
    }
}

fn unit_of(field: &str) -> &'static str {
    if field == "repeatEvery" {
        "seconds"
    } else {
        "milliseconds since the epoch"
    }
}

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
    pub fn resolve(
        fields: ScheduleFields,
        now_ms: i64,
        skew_tolerance_ms: i64,
    ) -> Result<Self, ApiError> {
        let at_ms = match fields.publish_at {
            0 => now_ms,
            at if at < now_ms - skew_tolerance_ms => {
                return Err(ApiError::new(
                    ErrorKind::InvalidPublishAt,
                    format!(
                        "Invalid publishAt date in the delivery options: {at} is {} ms in the past",
                        now_ms - at
                    ),
                ))
            }
            at => at.max(now_ms),
        };
        if fields.repeat_every == 0 {
            return Ok(if at_ms > now_ms {
                Schedule::Delayed { at_ms }
            } else {
                Schedule::Immediate
            });
        }
        let expires_at_ms = match fields.repeat_expires_at {
            0 => None,
            expires if expires < now_ms || expires < at_ms => {
                return Err(ApiError::new(
                    ErrorKind::InvalidRepeatExpiresAt,
                    format!(
                        "Invalid repeatExpiresAt date in delivery options: {expires} is before {}",
                        if expires < now_ms { "now" } else { "publishAt" }
                    ),
                ))
            }
            expires => Some(expires),
        };
        Ok(Schedule::Repeating {
            first_at_ms: at_ms,
            every_seconds: fields.repeat_every,
            expires_at_ms,
        })
    }

    /// Whether the message goes to the scheduler rather than straight to the dispatcher.
    pub fn is_deferred(&self) -> bool {
        !matches!(self, Schedule::Immediate)
    }

    /// When occurrence `k` is due, or `None` past the last one. Anchored to the first occurrence,
    /// never to the previous fire, so repeats do not drift.
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;
    const SKEW: i64 = 5_000;

    fn fields(v: Value) -> Result<ScheduleFields, ApiError> {
        ScheduleFields::parse(v.as_object().unwrap())
    }

    fn resolve(v: Value) -> Result<Schedule, ApiError> {
        Schedule::resolve(fields(v)?, NOW, SKEW)
    }

    #[test]
    fn no_fields_and_zero_fields_mean_now() {
        assert_eq!(resolve(json!({})), Ok(Schedule::Immediate));
        assert_eq!(
            resolve(json!({"publishAt": 0, "repeatEvery": 0})),
            Ok(Schedule::Immediate)
        );
        assert_eq!(resolve(json!({"publishAt": null})), Ok(Schedule::Immediate));
    }

    #[test]
    fn future_publish_at_is_delayed() {
        assert_eq!(
            resolve(json!({"publishAt": NOW + 1})),
            Ok(Schedule::Delayed { at_ms: NOW + 1 })
        );
        assert_eq!(
            resolve(json!({"publishAt": (NOW + 1000) as f64})),
            Ok(Schedule::Delayed { at_ms: NOW + 1000 })
        );
    }

    #[test]
    fn past_publish_at_within_skew_tolerance_is_now() {
        assert_eq!(
            resolve(json!({"publishAt": NOW - SKEW})),
            Ok(Schedule::Immediate)
        );
        assert_eq!(resolve(json!({"publishAt": NOW})), Ok(Schedule::Immediate));
    }

    #[test]
    fn past_publish_at_beyond_skew_tolerance_is_5030() {
        let err = resolve(json!({"publishAt": NOW - SKEW - 1})).unwrap_err();
        assert_eq!(err.kind.code(), 5030);
    }

    #[test]
    fn non_numeric_times_get_their_field_codes() {
        assert_eq!(
            resolve(json!({"publishAt": "soon"}))
                .unwrap_err()
                .kind
                .code(),
            5030
        );
        assert_eq!(
            resolve(json!({"publishAt": 1.5})).unwrap_err().kind.code(),
            5030
        );
        assert_eq!(
            resolve(json!({"repeatExpiresAt": true}))
                .unwrap_err()
                .kind
                .code(),
            5003
        );
        assert_eq!(
            resolve(json!({"repeatEvery": "1"})).unwrap_err().kind,
            ErrorKind::InvalidRepeatEvery
        );
        assert_eq!(
            resolve(json!({"repeatEvery": -1})).unwrap_err().kind,
            ErrorKind::InvalidRepeatEvery
        );
        assert_eq!(
            resolve(json!({"repeatEvery": 0.5})).unwrap_err().kind,
            ErrorKind::InvalidRepeatEvery
        );
    }

    #[test]
    fn repeat_without_expiry_repeats_until_cancelled() {
        assert_eq!(
            resolve(json!({"repeatEvery": 2})),
            Ok(Schedule::Repeating {
                first_at_ms: NOW,
                every_seconds: 2,
                expires_at_ms: None
            })
        );
    }

    #[test]
    fn repeat_expiry_in_the_past_or_before_publish_at_is_5003() {
        let past = resolve(json!({"repeatEvery": 1, "repeatExpiresAt": NOW - 1})).unwrap_err();
        assert_eq!(past.kind.code(), 5003);
        let before = resolve(
            json!({"publishAt": NOW + 10_000, "repeatEvery": 1, "repeatExpiresAt": NOW + 5_000}),
        )
        .unwrap_err();
        assert_eq!(before.kind.code(), 5003);
    }

    #[test]
    fn expiry_without_repeat_is_ignored() {
        assert_eq!(
            resolve(json!({"repeatExpiresAt": NOW + 5})),
            Ok(Schedule::Immediate)
        );
    }

    #[test]
    fn occurrences_are_anchored_and_end_at_expiry() {
        let s = Schedule::Repeating {
            first_at_ms: NOW,
            every_seconds: 1,
            expires_at_ms: Some(NOW + 3_500),
        };
        let due: Vec<i64> = (0..10).filter_map(|k| s.occurrence_at(k, 0)).collect();
        assert_eq!(due, vec![NOW, NOW + 1000, NOW + 2000, NOW + 3000]);
    }

    proptest! {
        #[test]
        fn occurrences_never_drift(first in 0i64..4_000_000_000_000, every in 1u64..100_000, k in 0u64..100_000) {
            let s = Schedule::Repeating { first_at_ms: first, every_seconds: every, expires_at_ms: None };
            let at = s.occurrence_at(k, 0).unwrap();
            prop_assert_eq!(at, first + (k * every * 1000) as i64);
            prop_assert_eq!(s.occurrence_at(k + 1, 0).unwrap() - at, (every * 1000) as i64);
        }

        #[test]
        fn accepted_schedules_never_start_in_the_past(offset in -20_000i64..20_000, every in 0u64..5) {
            let f = ScheduleFields { publish_at: NOW + offset, repeat_every: every, repeat_expires_at: 0 };
            match Schedule::resolve(f, NOW, SKEW) {
                Ok(s) => prop_assert!(s.occurrence_at(0, NOW).unwrap() >= NOW),
                Err(e) => prop_assert!(offset < -SKEW && e.kind.code() == 5030),
            }
        }
    }
}
