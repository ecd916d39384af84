//! When a message is published: now, once at `publishAt`, or every `repeatEvery` seconds from
//! `publishAt` until `repeatExpiresAt` (or until cancelled). DESIGN.md's time rules live here,
//! and only here: ingest validates a publish with [`AcceptedSchedule::resolve`]; an envelope
//! carries the [`AcceptedSchedule`], re-derived at decode by [`Schedule::accepted`]; the
//! scheduler's intake and the memory schedule store take occurrence times, missed occurrences and
//! time to live from [`Schedule::occurrence_at`], [`Schedule::latest_due`], [`Schedule::ttl`]
//! and [`ttl_until`]. The Redis scripts (`herald-backend/src/lua/schedule_*.lua`) mirror these
//! functions, each naming the one it mirrors.
//!
//! The arithmetic is checked throughout, so no input panics: an occurrence whose time does not
//! fit in an `i64` of milliseconds does not exist, and a time to live is capped at [`MAX_TTL`].

mod accepted;
mod fields;
mod rules;

pub use accepted::AcceptedSchedule;
pub use fields::ScheduleFields;
pub use rules::{ttl_until, Schedule, MAX_TTL};

#[cfg(test)]
mod tests;
