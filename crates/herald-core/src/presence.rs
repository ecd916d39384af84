//! Presence: which realtime connections are joined to a channel (the SDKs'
//! `addUserStatusListener`, `PUB_SUB_USERS`), and the changes its listeners are told of.

use serde::{Deserialize, Serialize};

use crate::channel::ChannelName;

/// A connection joined to a channel, as presence listeners read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub connection_id: String,
    /// The user id of the connection's token; `null` when it is not logged in.
    pub user_id: Option<String>,
}

/// What happened to the members of a channel (reference §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PresenceStatus {
    /// Everyone joined when the listener subscribed.
    Listing,
    Connected,
    Disconnected,
    /// A member re-identified itself (`SET_USER_TOKEN`).
    #[serde(rename = "USERUPDATE")]
    UserUpdate,
}

/// One presence change on its way to the channel's presence listeners on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEvent {
    pub app_id: String,
    pub channel: ChannelName,
    pub status: PresenceStatus,
    pub members: Vec<Member>,
}

/// A presence change as listeners receive it: `{status, data: [{connectionId, userId}]}`.
#[derive(Serialize)]
struct Delivered<'a> {
    status: PresenceStatus,
    data: &'a [Member],
}

impl PresenceEvent {
    /// The change as it travels on the live bus; an error, never empty bytes, when it cannot
    /// be written.
    pub fn encode(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The change as its listeners receive it (JSON).
    pub fn delivered_json(&self) -> serde_json::Result<String> {
        delivered_json(self.status, &self.members)
    }
}

/// `{status, data}` for any list of members (a listing is built without an event).
pub fn delivered_json(status: PresenceStatus, members: &[Member]) -> serde_json::Result<String> {
    serde_json::to_string(&Delivered {
        status,
        data: members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn presence_changes_cross_the_bus_and_reach_listeners_in_the_backendless_shape() {
        let event = PresenceEvent {
            app_id: "app".into(),
            channel: ChannelName::parse("chat").unwrap(),
            status: PresenceStatus::UserUpdate,
            members: vec![Member {
                connection_id: "c1".into(),
                user_id: None,
            }],
        };
        assert_eq!(
            PresenceEvent::decode(&event.encode().unwrap()).unwrap(),
            event
        );
        let delivered: Value = serde_json::from_str(&event.delivered_json().unwrap()).unwrap();
        assert_eq!(
            delivered,
            json!({"status": "USERUPDATE", "data": [{"connectionId": "c1", "userId": null}]})
        );
        let names: Vec<Value> = [
            PresenceStatus::Listing,
            PresenceStatus::Connected,
            PresenceStatus::Disconnected,
        ]
        .iter()
        .map(|status| serde_json::to_value(status).unwrap())
        .collect();
        assert_eq!(
            names,
            [json!("LISTING"), json!("CONNECTED"), json!("DISCONNECTED")]
        );
    }
}
