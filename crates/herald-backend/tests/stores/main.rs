//! The store contract suites: each case is written once, as an `async fn(&Stores)`, and runs on
//! the in-memory stores and on Redis (HERALD_REDIS__URL, default the local port; each test under
//! a fresh key prefix whose keys it removes at the end), so the two implementations keep one
//! contract.
//!
//! - [`status`]: status records, their transitions and lifetimes;
//! - [`schedule`], [`repeats`], [`leases`]: the schedule of deferred messages (one-shot, cancel
//!   against fire; repeating; leases, lifetimes and shards), and [`agreement`], a property test
//!   that both schedule stores keep herald-core's time rules;
//! - [`inbox`]: polling inboxes; [`presence`]: realtime presence records;
//! - [`support`]: how the stores of each backend are built, and the macro that runs a case on both.

mod support;

mod agreement;
mod inbox;
mod leases;
mod presence;
mod repeats;
mod schedule;
mod status;
