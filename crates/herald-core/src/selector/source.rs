//! Where a selector reads headers from. Published messages carry typed [`Headers`]; the live
//! transports to come hold the wire form (every value a string). Both answer the same lookup, so
//! one evaluator serves them.

use std::collections::BTreeMap;

use serde_json::{Number, Value};

use crate::headers::Headers;

/// One header's value as the evaluator sees it, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeaderValue<'a> {
    Str(&'a str),
    /// Kept as the JSON number so that its string form is the JSON text subscribers receive
    /// (`20`, `1.5`, `1e20`), not a re-rendering of the double.
    Number(&'a Number),
    Bool(bool),
}

/// A message's headers, looked up by name without allocating.
pub trait HeaderSource {
    /// The value of header `name`, or `None` when the message lacks it (SQL `NULL`).
    fn header(&self, name: &str) -> Option<HeaderValue<'_>>;
}

impl HeaderSource for Headers {
    fn header(&self, name: &str) -> Option<HeaderValue<'_>> {
        match self.get(name)? {
            Value::String(s) => Some(HeaderValue::Str(s)),
            Value::Number(n) => Some(HeaderValue::Number(n)),
            Value::Bool(b) => Some(HeaderValue::Bool(*b)),
            // `Headers::parse` admits only the three scalars; anything else reads as absent.
            _ => None,
        }
    }
}

impl HeaderSource for BTreeMap<String, String> {
    fn header(&self, name: &str) -> Option<HeaderValue<'_>> {
        self.get(name).map(|s| HeaderValue::Str(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_headers_keep_their_json_type() {
        let headers = Headers::parse(&json!({"s": "x", "n": 20, "b": true})).unwrap();
        assert_eq!(headers.header("s"), Some(HeaderValue::Str("x")));
        assert!(
            matches!(headers.header("n"), Some(HeaderValue::Number(n)) if n.as_i64() == Some(20))
        );
        assert_eq!(headers.header("b"), Some(HeaderValue::Bool(true)));
        assert_eq!(headers.header("missing"), None);
    }

    #[test]
    fn wire_headers_are_all_strings() {
        let wire = BTreeMap::from([("n".to_owned(), "20".to_owned())]);
        assert_eq!(wire.header("n"), Some(HeaderValue::Str("20")));
        assert_eq!(wire.header("m"), None);
    }
}
