//! The store seams: message status records ([`status`]) and polling inboxes ([`inbox`]), each
//! with a Redis and an in-memory implementation that pass the same behaviour tests.

pub mod inbox;
pub mod keys;
pub mod redis_conn;
pub mod schedule;
pub mod status;
