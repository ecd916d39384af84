//! Message headers: scalar values kept with their JSON type (so a selector can compare `20` as a
//! number) and rendered as strings to subscribers, as Backendless delivers them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::error::{ApiError, ErrorKind};

/// The headers of a message, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(BTreeMap<String, Value>);

impl Headers {
    /// Accepts an object whose values are strings, numbers or booleans; anything else is refused
    /// with the offending header's name rather than silently stringified.
    pub fn parse(value: &Value) -> Result<Self, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::new(
                ErrorKind::InvalidField,
                "headers must be a JSON object",
            ));
        };
        Self::from_map(map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut headers = BTreeMap::new();
        for (name, value) in map {
            match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    headers.insert(name.clone(), value.clone());
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorKind::InvalidField,
                        format!("header '{name}' must be a string, a number or a boolean"),
                    ))
                }
            }
        }
        Ok(Self(headers))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The headers as subscribers see them: every value a string (`20` becomes `"20"`).
    pub fn to_wire(&self) -> BTreeMap<&str, String> {
        self.0
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.as_str(), text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_types_and_renders_strings() {
        let headers =
            Headers::parse(&json!({"city": "Dallas", "foo": 20, "flag": true, "x": 1.5})).unwrap();
        assert_eq!(headers.get("foo"), Some(&json!(20)));
        let wire = headers.to_wire();
        assert_eq!(wire["city"], "Dallas");
        assert_eq!(wire["foo"], "20");
        assert_eq!(wire["flag"], "true");
        assert_eq!(wire["x"], "1.5");
    }

    #[test]
    fn refuses_nested_and_null_values_by_name() {
        for bad in [
            json!({"a": null}),
            json!({"a": [1]}),
            json!({"a": {"b": 1}}),
        ] {
            let err = Headers::parse(&bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidField);
            assert!(err.message.contains("'a'"), "{}", err.message);
        }
        assert_eq!(
            Headers::parse(&json!([1])).unwrap_err().kind,
            ErrorKind::InvalidField
        );
    }
}
