//! A schedule as ingest accepted it: the fields the publisher sent together with the
//! [`Schedule`] they resolved to. The envelope carries it: on the wire it is the fields alone
//! (echoed to subscribers), and the schedule is derived again when the envelope is decoded.

use serde::Serialize;
use std::ops::Deref;

use super::fields::ScheduleFields;
use super::rules::Schedule;
use crate::error::ApiError;

/// The publisher's schedule fields and the schedule they resolved to when accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "ScheduleFields")]
pub struct AcceptedSchedule {
    fields: ScheduleFields,
    schedule: Schedule,
}

impl AcceptedSchedule {
    /// Validates `fields` at `now_ms` ([`Schedule::resolve`]).
    pub fn resolve(
        fields: ScheduleFields,
        now_ms: i64,
        skew_tolerance_ms: i64,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            fields,
            schedule: Schedule::resolve(fields, now_ms, skew_tolerance_ms)?,
        })
    }

    /// The schedule of fields accepted at `accepted_at_ms` ([`Schedule::accepted`]).
    pub fn accepted(fields: ScheduleFields, accepted_at_ms: i64) -> Self {
        Self {
            fields,
            schedule: Schedule::accepted(fields, accepted_at_ms),
        }
    }

    /// The fields as the publisher sent them.
    pub fn fields(&self) -> ScheduleFields {
        self.fields
    }

    /// The schedule they resolved to.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }
}

impl Default for AcceptedSchedule {
    /// No fields: an immediate message.
    fn default() -> Self {
        Self {
            fields: ScheduleFields::default(),
            schedule: Schedule::Immediate,
        }
    }
}

/// Reads as the fields (`envelope.schedule.publish_at`), as subscribers see them.
impl Deref for AcceptedSchedule {
    type Target = ScheduleFields;

    fn deref(&self) -> &ScheduleFields {
        &self.fields
    }
}

impl From<AcceptedSchedule> for ScheduleFields {
    fn from(accepted: AcceptedSchedule) -> Self {
        accepted.fields
    }
}
