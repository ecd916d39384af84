//! The Backendless realtime events (JS SDK wire reference §4.3): what clients send, what herald
//! answers.

use herald_core::{ApiError, ChannelName, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// `SUB_ON` and `MET_REQ`: `{id, name, options}`.
#[derive(Debug, Deserialize)]
pub struct Request {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub options: Value,
}

/// `SUB_OFF`: `{id}`.
#[derive(Debug, Deserialize)]
pub struct Stop {
    pub id: String,
}

/// `SUB_READY`: `{id}`.
#[derive(Debug, Serialize)]
pub struct Ready<'a> {
    pub id: &'a str,
}

/// `SUB_RES` with a delivery: `{id, data}`, the data already rendered.
#[derive(Debug, Serialize)]
pub struct Delivery<'a> {
    pub id: &'a str,
    pub data: &'a RawValue,
}

/// `SUB_RES` or `MET_RES` with an error: `{id, error: {code, message}}`; the SDK drops the
/// subscription (or rejects the call) and hands the error to its error callback.
#[derive(Debug, Serialize)]
pub struct Failure<'a> {
    pub id: &'a str,
    pub error: ErrorBody<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub code: u32,
    pub message: &'a str,
}

impl<'a> Failure<'a> {
    pub fn new(id: &'a str, err: &'a ApiError) -> Self {
        Self {
            id,
            error: ErrorBody {
                code: err.kind.code(),
                message: &err.message,
            },
        }
    }
}

/// `MET_RES` with a result: `{id, result}`.
#[derive(Debug, Serialize)]
pub struct Answer<'a> {
    pub id: &'a str,
    pub result: Value,
}

/// A string option, if present.
pub fn option<'a>(options: &'a Value, name: &str) -> Option<&'a str> {
    options.get(name).and_then(Value::as_str)
}

/// The channel named in a request's options.
pub fn channel(options: &Value) -> Result<ChannelName, ApiError> {
    let name = option(options, "channel").ok_or_else(|| {
        ApiError::new(ErrorKind::InvalidChannelName, "options.channel is missing")
    })?;
    ChannelName::parse(name)
}
