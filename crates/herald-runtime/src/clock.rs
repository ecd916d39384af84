//! The node's clock, read in one place. Ingest validates `publishAt` against it and the
//! dispatcher stamps deliveries with it; Redis-side windows use Redis's own clock (see
//! proto/redis-keys.md).

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    now_us() / 1000
}

/// Unix time in microseconds.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}
