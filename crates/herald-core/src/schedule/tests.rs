//! The time rules, case by case and over any input.

use super::*;
use crate::error::{ApiError, ErrorKind};
use proptest::prelude::*;
use serde_json::json;
use serde_json::Value;
use std::time::Duration;

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

#[test]
fn a_scheduler_that_missed_occurrences_fires_the_latest_due_and_never_past_the_last() {
    let s = Schedule::Repeating {
        first_at_ms: NOW,
        every_seconds: 2,
        expires_at_ms: Some(NOW + 9_000),
    };
    assert_eq!(s.latest_due(NOW - 1), None);
    assert_eq!(s.latest_due(NOW), Some(0));
    assert_eq!(s.latest_due(NOW + 5_999), Some(2));
    assert_eq!(s.latest_due(NOW + 6_000), Some(3));
    assert_eq!(s.latest_due(NOW + 60_000), Some(4));
    assert_eq!(s.last_occurrence(), Some(4));
    let endless = Schedule::Repeating {
        first_at_ms: NOW,
        every_seconds: 2,
        expires_at_ms: None,
    };
    assert_eq!(endless.latest_due(NOW + 60_000), Some(30));
    assert_eq!(endless.last_occurrence(), None);
    let once = Schedule::Delayed { at_ms: NOW };
    assert_eq!(once.latest_due(NOW - 1), None);
    assert_eq!(once.latest_due(NOW + 60_000), Some(0));
}

#[test]
fn records_live_until_the_expiry_or_the_first_occurrence_then_the_status_ttl() {
    let ttl = Duration::from_secs(60);
    assert_eq!(Schedule::Immediate.ttl(NOW, ttl), ttl);
    let delayed = Schedule::Delayed { at_ms: NOW + 5_000 };
    assert_eq!(delayed.ttl(NOW, ttl), ttl + Duration::from_secs(5));
    let ending = Schedule::Repeating {
        first_at_ms: NOW + 1_000,
        every_seconds: 1,
        expires_at_ms: Some(NOW + 9_000),
    };
    assert_eq!(ending.ttl(NOW, ttl), ttl + Duration::from_secs(9));
    let endless = Schedule::Repeating {
        first_at_ms: NOW + 1_000,
        every_seconds: 1,
        expires_at_ms: None,
    };
    assert_eq!(endless.ttl(NOW, ttl), ttl + Duration::from_secs(1));
    assert_eq!(ttl_until(NOW - 5, NOW, ttl), ttl);
}

#[test]
fn the_latest_publish_at_is_accepted_without_overflow() {
    let far = fields(json!({"publishAt": i64::MAX, "repeatEvery": i64::MAX})).unwrap();
    let s = Schedule::resolve(far, NOW, SKEW).unwrap();
    assert_eq!(s.occurrence_at(0, NOW), Some(i64::MAX));
    assert_eq!(s.occurrence_at(1, NOW), None, "past i64: no occurrence");
    assert_eq!(s.latest_due(NOW), None);
    assert_eq!(s.ttl(NOW, Duration::from_secs(60)), MAX_TTL);
    let past = fields(json!({"publishAt": i64::MIN})).unwrap();
    assert_eq!(
        Schedule::resolve(past, NOW, SKEW).unwrap_err().kind.code(),
        5030
    );
}

#[test]
fn an_envelope_whose_expiry_precedes_its_first_occurrence_keeps_the_first_only() {
    let f = ScheduleFields {
        publish_at: NOW + 10_000,
        repeat_every: 1,
        repeat_expires_at: NOW + 5_000,
    };
    let s = Schedule::accepted(f, NOW);
    assert_eq!(s.occurrence_at(0, NOW), Some(NOW + 10_000));
    assert_eq!(s.occurrence_at(1, NOW), None);
    assert_eq!(s.last_occurrence(), Some(0));
}

#[test]
fn accepted_schedules_read_as_the_fields_the_publisher_sent() {
    let f = ScheduleFields {
        publish_at: NOW + 1_000,
        repeat_every: 0,
        repeat_expires_at: 7,
    };
    let accepted = AcceptedSchedule::resolve(f, NOW, SKEW).unwrap();
    assert_eq!(accepted.fields(), f);
    assert_eq!(accepted.repeat_expires_at, 7);
    assert_eq!(
        accepted.schedule(),
        Schedule::Delayed { at_ms: NOW + 1_000 }
    );
    assert_eq!(
        serde_json::to_value(accepted).unwrap(),
        json!({"publishAt": NOW + 1_000, "repeatEvery": 0, "repeatExpiresAt": 7})
    );
}

fn any_fields() -> impl Strategy<Value = ScheduleFields> {
    let time = prop_oneof![
        Just(0i64),
        Just(i64::MAX),
        Just(i64::MIN),
        any::<i64>(),
        (NOW - 20_000..NOW + 20_000),
    ];
    let every = prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..10];
    (time.clone(), every, time).prop_map(|(publish_at, repeat_every, repeat_expires_at)| {
        ScheduleFields {
            publish_at,
            repeat_every,
            repeat_expires_at,
        }
    })
}

proptest! {
    #[test]
    fn no_input_makes_a_time_rule_panic(f in any_fields(), now in any::<i64>(), skew in any::<i64>(), k in any::<u64>(), at in any::<i64>()) {
        let _ = Schedule::resolve(f, now, skew);
        let s = Schedule::accepted(f, now);
        let _ = (s.occurrence_at(k, at), s.latest_due(at), s.last_occurrence());
        prop_assert!(s.ttl(at, Duration::from_secs(u64::MAX)) <= MAX_TTL);
    }

    #[test]
    fn what_resolve_accepts_is_what_an_envelope_decodes_to(f in any_fields()) {
        if let Ok(s) = Schedule::resolve(f, NOW, SKEW) {
            prop_assert_eq!(s, Schedule::accepted(f, NOW));
        }
    }

    #[test]
    fn the_latest_due_occurrence_is_due_and_the_next_one_is_not(f in any_fields(), ahead in 0i64..10_000_000) {
        let s = Schedule::accepted(f, NOW);
        let now = NOW.saturating_add(ahead);
        if let Some(k) = s.latest_due(now) {
            prop_assert!(s.occurrence_at(k, NOW).unwrap() <= now);
            if let Some(next) = s.occurrence_at(k + 1, NOW) {
                prop_assert!(next > now);
            }
        }
    }
}
