//! Deserializers for the parsed types settings hold, each refusing what its field cannot mean
//! with the reason a person reads (the loader adds the field's name): a `_ms` or `_seconds` key
//! becomes a [`Duration`], a name a checked [`String`].

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A whole number of milliseconds, at least 1.
pub fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    millis_at_least(d, 1)
}

/// A whole number of milliseconds, possibly 0.
pub fn millis_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    millis_at_least(d, 0)
}

/// A whole number of milliseconds, at least `min`.
pub fn millis_at_least<'de, D: Deserializer<'de>>(d: D, min: u64) -> Result<Duration, D::Error> {
    Ok(Duration::from_millis(at_least(d, min)?))
}

/// A whole number of seconds, at least 1.
pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    seconds_at_least(d, 1, "")
}

/// A whole number of seconds, at least `min`; `why` (may be empty) says why in the error.
pub fn seconds_at_least<'de, D: Deserializer<'de>>(
    d: D,
    min: u64,
    why: &str,
) -> Result<Duration, D::Error> {
    let value = u64::deserialize(d)?;
    if value < min {
        return Err(D::Error::custom(format!("must be at least {min}{why}")));
    }
    Ok(Duration::from_secs(value))
}

/// A whole number, at least `min`.
pub fn at_least<'de, D: Deserializer<'de>>(d: D, min: u64) -> Result<u64, D::Error> {
    let value = u64::deserialize(d)?;
    if value < min {
        return Err(D::Error::custom(format!("must be at least {min}")));
    }
    Ok(value)
}

/// A name queues or keys are built from: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    check_name(&value).map_err(D::Error::custom)?;
    Ok(value)
}

/// Whether `value` can be a prefix of queue or key names.
pub fn check_name(value: &str) -> Result<(), &'static str> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 64 characters of [A-Za-z0-9._-]")
    }
}
