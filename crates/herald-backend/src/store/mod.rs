//! The store seams: message status records ([`status`]), polling inboxes ([`inbox`]), the
//! schedule ([`schedule`]) and realtime presence ([`presence`]), each with a Redis and an
//! in-memory implementation that pass the same behaviour tests. Status records and the schedule
//! share one in-memory implementation ([`memory`]), as cancel and fire share one transition.

pub mod inbox;
pub mod keys;
pub mod memory;
pub mod presence;
pub mod redis_conn;
pub mod schedule;
pub mod status;
