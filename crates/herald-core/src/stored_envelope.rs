//! The form in which the schedule keeps a deferred message's envelope: the envelope without its
//! identity (`v`, `messageId`, `occurrence`, `appId`), which the schedule already keeps in the
//! entry's key and member. About 100 bytes less per pending message, and for many payload sizes
//! a smaller allocation class besides (measured: 1.56 KB to 1.37 KB of Redis per pending message
//! with a 256 B payload).
//!
//! Firing puts the identity back by splicing it in front of the stored fields: no JSON is parsed
//! on the way out, for any occurrence. An envelope stored whole (by an earlier build) is still
//! read, by decoding it.

use serde::Serialize;
use serde_json::Value;
use std::io::Write;

use crate::channel::ChannelName;
use crate::envelope::{Envelope, EnvelopeError, ENVELOPE_VERSION};
use crate::headers::Headers;
use crate::ids::MessageId;
use crate::schedule::AcceptedSchedule;

/// The envelope's fields after its identity, in [`Envelope`]'s order and with its names, so that
/// identity + these is an envelope as [`Envelope::encode`] writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rest<'a> {
    channel: &'a ChannelName,
    message: &'a Value,
    publisher_id: &'a Option<String>,
    headers: &'a Headers,
    schedule: &'a AcceptedSchedule,
    accepted_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    traceparent: &'a Option<String>,
}

/// The stored form of `envelope`: a JSON object of its fields but its identity.
pub fn compact(envelope: &Envelope) -> Result<String, EnvelopeError> {
    // Every field named, so a field added to the envelope does not compile until it is placed
    // here too (in [`Rest`], or with the identity).
    let Envelope {
        v: _,
        message_id: _,
        occurrence: _,
        app_id: _,
        channel,
        message,
        publisher_id,
        headers,
        schedule,
        accepted_at,
        traceparent,
    } = envelope;
    let rest = Rest {
        channel,
        message,
        publisher_id,
        headers,
        schedule,
        accepted_at: *accepted_at,
        traceparent,
    };
    serde_json::to_string(&rest).map_err(EnvelopeError::Unserializable)
}

/// The encoded envelope of occurrence `occurrence` of the message `message_id` of `app_id`,
/// from its stored form (or from a whole envelope stored by an earlier build).
pub fn expand(
    stored: &str,
    message_id: MessageId,
    app_id: &str,
    occurrence: u64,
) -> Result<Vec<u8>, EnvelopeError> {
    if stored.starts_with("{\"v\":") {
        let mut envelope = Envelope::decode(stored.as_bytes())?;
        envelope.occurrence = occurrence;
        return envelope.encode();
    }
    let Some(fields) = stored.strip_prefix('{').filter(|f| f.len() > 1) else {
        return Err(EnvelopeError::Malformed(
            <serde_json::Error as serde::de::Error>::custom(
                "a stored envelope is a JSON object of at least one field",
            ),
        ));
    };
    // A message id is `message:` and a UUID, nothing JSON must escape; an app id is escaped.
    let app_id = serde_json::to_string(app_id).map_err(EnvelopeError::Unserializable)?;
    let mut encoded = Vec::with_capacity(96 + app_id.len() + fields.len());
    write!(
        encoded,
        "{{\"v\":{ENVELOPE_VERSION},\"messageId\":\"{message_id}\",\"occurrence\":{occurrence},\"appId\":{app_id},{fields}"
    )
    .expect("writing to a Vec cannot fail");
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn envelope(app: &str, message: Value, traceparent: Option<String>) -> Envelope {
        Envelope {
            v: ENVELOPE_VERSION,
            message_id: MessageId::new_random(),
            occurrence: 0,
            app_id: app.into(),
            channel: ChannelName::parse("news").unwrap(),
            message,
            publisher_id: Some("pub".into()),
            headers: crate::headers::Headers::parse(&json!({"kind": "a", "n": 3})).unwrap(),
            schedule: AcceptedSchedule::accepted(
                crate::schedule::ScheduleFields {
                    publish_at: 1_800_000_000_000,
                    repeat_every: 5,
                    repeat_expires_at: 1_800_000_100_000,
                },
                1_799_999_999_000,
            ),
            accepted_at: 1_799_999_999_000,
            traceparent,
        }
    }

    #[test]
    fn the_stored_form_leaves_the_identity_out() {
        let env = envelope("app-1", json!("hello"), None);
        let stored = compact(&env).unwrap();
        assert!(stored.starts_with("{\"channel\":\"news\","), "{stored}");
        for identity in ["\"v\"", "messageId", "occurrence", "appId"] {
            assert!(!stored.contains(identity), "{identity} in {stored}");
        }
        assert_eq!(
            expand(&stored, env.message_id, "app-1", 0).unwrap(),
            env.encode().unwrap(),
            "occurrence 0 comes back as ingest encoded it"
        );
    }

    #[test]
    fn a_whole_envelope_stored_by_an_earlier_build_is_still_read() {
        let env = envelope("app", json!({"a": 1}), None);
        let whole = String::from_utf8(env.encode().unwrap()).unwrap();
        let expanded = expand(&whole, env.message_id, "app", 4).unwrap();
        let decoded = Envelope::decode(&expanded).unwrap();
        assert_eq!(decoded.occurrence, 4);
        assert_eq!(decoded.message, env.message);
    }

    #[test]
    fn a_stored_form_that_is_no_object_is_refused() {
        let id = MessageId::new_random();
        for stored in ["", "{", "{}", "[1]"] {
            assert!(expand(stored, id, "app", 0).is_err(), "{stored:?}");
        }
    }

    proptest! {
        #[test]
        fn expanding_the_stored_form_gives_the_envelope_of_the_occurrence(
            app in "[A-Za-z0-9_\"\\\\-]{1,12}",
            text in ".{0,40}",
            occurrence in any::<u64>(),
            traced in any::<bool>(),
        ) {
            let traceparent = traced.then(|| "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string());
            let mut env = envelope(&app, json!({"text": text}), traceparent);
            let expanded = expand(&compact(&env).unwrap(), env.message_id, &app, occurrence).unwrap();
            env.occurrence = occurrence;
            prop_assert_eq!(Envelope::decode(&expanded).unwrap(), env.clone());
            prop_assert_eq!(expanded, env.encode().unwrap());
        }
    }
}
