//! The node's clock, handed to whatever reads time: ingest validates `publishAt` against it, the
//! dispatcher stamps deliveries with it, the in-memory stores expire records and decide what is
//! due by it, and the scheduler follows Redis's clock on it between claims. Redis-side windows
//! use Redis's own clock (see proto/redis-keys.md).
//!
//! [`Clock::system`] reads the system clock; a [`ManualClock`] stands still until a test moves it
//! ([`ManualClock::advance`], [`ManualClock::set_ms`]), and wakes whatever sleeps on it
//! ([`Clock::sleep`]) when it does. A clock is a cheap handle: clones read the same time.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A source of the current time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// The manual clock's time, µs since the epoch; `None`: the system clock.
    manual: Option<Arc<watch::Sender<i64>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Unix time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now_us().div_euclid(1000)
    }

    /// Unix time in microseconds.
    pub fn now_us(&self) -> i64 {
        match &self.manual {
            None => now_us(),
            Some(time) => *time.borrow(),
        }
    }

    /// Waits until this clock has moved on by `pause`: in real time on the system clock, until a
    /// test moves it far enough on a manual one.
    pub async fn sleep(&self, pause: Duration) {
        let Some(time) = &self.manual else {
            return tokio::time::sleep(pause).await;
        };
        let pause_us = i64::try_from(pause.as_micros()).unwrap_or(i64::MAX);
        let deadline = time.borrow().saturating_add(pause_us);
        let mut moves = time.subscribe();
        // The sender lives as long as `self`, so this only ends when the time has come.
        moves.wait_for(|now| *now >= deadline).await.ok();
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock standing at `at_ms` (ms since the epoch).
    pub fn new(at_ms: i64) -> Self {
        Self {
            time: Arc::new(watch::Sender::new(at_ms.saturating_mul(1000))),
        }
    }

    /// A clock standing at the system clock's time now.
    pub fn at_system_time() -> Self {
        Self::new(now_ms())
    }

    /// The handle to give the code under test.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.time.clone()),
        }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        let by_us = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.time
            .send_modify(|now| *now = now.saturating_add(by_us));
    }

    /// Sets the clock to `at_ms` (ms since the epoch); it may go back, as a system clock can.
    pub fn set_ms(&self, at_ms: i64) {
        self.time.send_replace(at_ms.saturating_mul(1000));
    }

    /// The clock's time, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }
}

/// The system clock's Unix time in milliseconds, for what is given no [`Clock`] (tests that
/// compare with herald's stamps, benchmarks).
pub fn now_ms() -> i64 {
    now_us() / 1000
}

/// The system clock's Unix time in microseconds.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let manual = ManualClock::new(1_800_000_000_000);
        let clock = manual.clock();
        assert_eq!(clock.now_ms(), 1_800_000_000_000);
        manual.advance(Duration::from_millis(1_500));
        assert_eq!(clock.clone().now_ms(), 1_800_000_001_500);
        manual.set_ms(5);
        assert_eq!((clock.now_ms(), clock.now_us()), (5, 5_000));
    }

    #[tokio::test]
    async fn a_sleep_on_a_manual_clock_ends_when_the_clock_has_moved_far_enough() {
        let manual = ManualClock::new(0);
        let sleeping = tokio::spawn({
            let clock = manual.clock();
            async move { clock.sleep(Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        manual.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeping.is_finished());
        manual.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeping)
            .await
            .expect("the sleep ends once the clock reached its deadline")
            .unwrap();
    }

    #[test]
    fn the_system_clock_reads_the_time_of_day() {
        let clock = Clock::system();
        assert!((clock.now_ms() - now_ms()).abs() < 60_000);
    }
}
