//! The schedule fields of a publish body, exactly as the publisher sent them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorKind};

/// The schedule fields exactly as the publisher sent them (0 when unset), which is also how
/// Backendless echoes them to subscribers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleFields {
    pub publish_at: i64,
    pub repeat_every: u64,
    pub repeat_expires_at: i64,
}

impl ScheduleFields {
    /// Reads the three fields from a publish body. Absent, `null` and `0` all mean unset (the JS
    /// SDK drops falsy options, other SDKs send 0); anything that is not a whole number is refused
    /// with the field's own error code.
    pub fn parse(body: &serde_json::Map<String, Value>) -> Result<Self, ApiError> {
        let publish_at = whole_number(
            body.get("publishAt"),
            ErrorKind::InvalidPublishAt,
            "publishAt",
        )?;
        let repeat_every = whole_number(
            body.get("repeatEvery"),
            ErrorKind::InvalidRepeatEvery,
            "repeatEvery",
        )?;
        let repeat_expires_at = whole_number(
            body.get("repeatExpiresAt"),
            ErrorKind::InvalidRepeatExpiresAt,
            "repeatExpiresAt",
        )?;
        let repeat_every = u64::try_from(repeat_every).map_err(|_| {
            ApiError::new(
                ErrorKind::InvalidRepeatEvery,
                "repeatEvery must be a whole number of seconds >= 1",
            )
        })?;
        Ok(Self {
            publish_at,
            repeat_every,
            repeat_expires_at,
        })
    }
}

fn whole_number(value: Option<&Value>, kind: ErrorKind, field: &str) -> Result<i64, ApiError> {
    let refuse = || {
        ApiError::new(
            kind,
            format!("{field} must be a whole number ({})", unit_of(field)),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            // 1.7e12 arrives as a float from some JSON encoders; accept it when it is integral.
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(refuse()),
        },
        Some(_) => Err(refuse()),
    }
}

fn unit_of(field: &str) -> &'static str {
    if field == "repeatEvery" {
        "seconds"
    } else {
        "milliseconds since the epoch"
    }
}
