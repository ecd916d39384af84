//! The in-memory store of status records and the schedule: one [`MemoryStore`] with one lock,
//! implementing both [`StatusStore`](crate::store::status::StatusStore) ([`status`]) and
//! [`ScheduleStore`](crate::store::schedule::ScheduleStore) ([`schedule`]), so that cancel and
//! fire have exactly one winner as the Redis scripts have. Time is the [`Clock`] it is given
//! (herald_runtime::clock::Clock), where Redis would use its own.

mod schedule;
mod state;
mod status;

pub use state::MemoryStore;

#[cfg(test)]
mod tests;
