//! The publish request: the Backendless body of `POST .../messaging/<channel>`, parsed once.

use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorKind};
use crate::headers::Headers;
use crate::schedule::{AcceptedSchedule, ScheduleFields};

/// The rules a publish is validated against.
#[derive(Debug, Clone, Copy)]
pub struct PublishRules {
    /// How far in the past a `publishAt` may be and still mean "now" (clients' clocks drift).
    pub skew_tolerance_ms: i64,
}

/// A valid publish request.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    /// The payload: any JSON value, `null` included.
    pub message: Value,
    pub publisher_id: Option<String>,
    pub headers: Headers,
    /// The schedule fields as sent (echoed to subscribers) and the schedule they resolved to.
    pub schedule: AcceptedSchedule,
}

impl PublishRequest {
    /// Parses a publish body at `now_ms`. Unknown keys are tolerated (the JS SDK merges whatever
    /// option objects it is given into the body). Push fields follow reference §1.6: `BOTH` and
    /// `PUBSUB` publish to subscribers and the push part is ignored; push-only (`publishPolicy`
    /// `PUSH`, or the legacy `pushPolicy` `ONLY`) is refused, as herald does no push.
    pub fn parse(body: Value, now_ms: i64, rules: PublishRules) -> Result<Self, ApiError> {
        let Value::Object(mut body) = body else {
            return Err(ApiError::of(ErrorKind::BodyNotAnObject));
        };
        let message = body.remove("message").ok_or_else(|| {
            ApiError::new(
                ErrorKind::MissingMessage,
                "the body must hold a \"message\" field (null is allowed)",
            )
        })?;
        let publisher_id = optional_string(&body, "publisherId")?;
        let headers = match body.get("headers") {
            None | Some(Value::Null) => Headers::default(),
            Some(value) => Headers::parse(value)?,
        };
        refuse_push_only(&body)?;
        let fields = ScheduleFields::parse(&body)?;
        let schedule = AcceptedSchedule::resolve(fields, now_ms, rules.skew_tolerance_ms)?;
        Ok(Self {
            message,
            publisher_id,
            headers,
            schedule,
        })
    }
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::new(
            ErrorKind::InvalidField,
            format!("{field} must be a string"),
        )),
    }
}

fn refuse_push_only(body: &Map<String, Value>) -> Result<(), ApiError> {
    let push_only = ApiError::new(
        ErrorKind::PushNotSupported,
        "herald does not send push notifications: use publishPolicy PUBSUB or BOTH",
    );
    match optional_string(body, "publishPolicy")?
        .map(|p| p.to_ascii_uppercase())
        .as_deref()
    {
        None | Some("PUBSUB") | Some("BOTH") => {}
        Some("PUSH") => return Err(push_only),
        Some(other) => {
            return Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("publishPolicy must be PUBSUB, BOTH or PUSH, not {other}"),
            ))
        }
    }
    match optional_string(body, "pushPolicy")?
        .map(|p| p.to_ascii_uppercase())
        .as_deref()
    {
        Some("ONLY") => Err(push_only),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;
    const RULES: PublishRules = PublishRules {
        skew_tolerance_ms: 5_000,
    };

    fn parse(v: Value) -> Result<PublishRequest, ApiError> {
        PublishRequest::parse(v, NOW, RULES)
    }

    #[test]
    fn accepts_any_json_message_and_unknown_keys() {
        for message in [
            json!("s"),
            json!(1),
            json!(true),
            json!(null),
            json!({"a": [1]}),
            json!([{"bar": "str"}]),
        ] {
            let req = parse(json!({"message": message.clone(), "foo": "333"})).unwrap();
            assert_eq!(req.message, message);
            assert_eq!(req.schedule.schedule(), Schedule::Immediate);
        }
    }

    #[test]
    fn reads_publisher_and_headers() {
        let req =
            parse(json!({"message": 1, "publisherId": "pub-1", "headers": {"foo": 20}})).unwrap();
        assert_eq!(req.publisher_id.as_deref(), Some("pub-1"));
        assert_eq!(req.headers.to_wire()["foo"], "20");
    }

    #[test]
    fn refuses_missing_message_and_non_objects() {
        assert_eq!(
            parse(json!({})).unwrap_err().kind,
            ErrorKind::MissingMessage
        );
        assert_eq!(
            parse(json!([1])).unwrap_err().kind,
            ErrorKind::BodyNotAnObject
        );
        assert_eq!(
            parse(json!("x")).unwrap_err().kind,
            ErrorKind::BodyNotAnObject
        );
    }

    #[test]
    fn refuses_wrongly_typed_fields() {
        assert_eq!(
            parse(json!({"message": 1, "publisherId": 5}))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidField
        );
        assert_eq!(
            parse(json!({"message": 1, "headers": "x"}))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidField
        );
    }

    #[test]
    fn push_policy_both_and_pubsub_publish_push_alone_is_refused() {
        let both = json!({"message": 1, "publishPolicy": "BOTH", "pushBroadcast": 15, "pushSinglecast": ["dev-1"]});
        assert!(parse(both).is_ok());
        assert!(parse(json!({"message": 1, "publishPolicy": "PUBSUB"})).is_ok());
        assert!(
            parse(json!({"message": 1, "pushBroadcast": "FOR_ALL", "pushPolicy": "ALSO"})).is_ok()
        );
        for push in [
            json!({"message": 1, "publishPolicy": "PUSH"}),
            json!({"message": 1, "pushPolicy": "ONLY"}),
        ] {
            assert_eq!(parse(push).unwrap_err().kind, ErrorKind::PushNotSupported);
        }
        assert_eq!(
            parse(json!({"message": 1, "publishPolicy": "LOUD"}))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidField
        );
    }

    #[test]
    fn schedule_errors_come_through() {
        assert_eq!(
            parse(json!({"message": 1, "publishAt": NOW - 60_000}))
                .unwrap_err()
                .kind
                .code(),
            5030
        );
        let req = parse(json!({"message": 1, "publishAt": NOW + 60_000})).unwrap();
        assert!(req.schedule.schedule().is_deferred());
        assert_eq!(req.schedule.fields().publish_at, NOW + 60_000);
    }
}
