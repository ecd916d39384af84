//! Commands: what a realtime client sends to the other connections of a channel (the SDKs'
//! `channel.send(type, data)`, `PUB_SUB_COMMAND`), and the shape listeners receive.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::ChannelName;

/// One command on its way to a channel's command listeners, on every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub app_id: String,
    pub channel: ChannelName,
    #[serde(rename = "type")]
    pub kind: Value,
    pub data: Value,
    /// The sending connection.
    pub connection_id: String,
    pub user_id: Option<String>,
}

/// Who sent a command, as listeners read it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserInfo<'a> {
    connection_id: &'a str,
    user_id: Option<&'a str>,
}

/// A command as listeners receive it. The two SDK families read the sender in different places,
/// so it is in both: `userInfo: {connectionId, userId}` and the same two fields at the top.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivered<'a> {
    #[serde(rename = "type")]
    kind: &'a Value,
    data: &'a Value,
    connection_id: &'a str,
    user_id: Option<&'a str>,
    user_info: UserInfo<'a>,
}

impl Command {
    /// The command as it travels on the live bus; an error, never empty bytes, when it cannot
    /// be written.
    pub fn encode(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The command as its listeners receive it (JSON).
    pub fn delivered_json(&self) -> serde_json::Result<String> {
        let user_id = self.user_id.as_deref();
        let delivered = Delivered {
            kind: &self.kind,
            data: &self.data,
            connection_id: &self.connection_id,
            user_id,
            user_info: UserInfo {
                connection_id: &self.connection_id,
                user_id,
            },
        };
        serde_json::to_string(&delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_cross_the_bus_and_reach_listeners_in_both_sdk_shapes() {
        let command = Command {
            app_id: "app".into(),
            channel: ChannelName::parse("chat").unwrap(),
            kind: json!("typing"),
            data: json!({"on": true}),
            connection_id: "c1".into(),
            user_id: None,
        };
        assert_eq!(
            Command::decode(&command.encode().unwrap()).unwrap(),
            command
        );
        let delivered: Value = serde_json::from_str(&command.delivered_json().unwrap()).unwrap();
        assert_eq!(
            delivered,
            json!({"type": "typing", "data": {"on": true}, "connectionId": "c1", "userId": null,
                   "userInfo": {"connectionId": "c1", "userId": null}})
        );
    }
}
