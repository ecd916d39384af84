//! The operations a permission grants or denies, and sets of them as permissions list them.

use serde::{Deserialize, Deserializer};

/// An operation a permission grants or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Publishing to a channel.
    Publish,
    /// Receiving a channel's messages: polling, SSE, WebSocket, realtime message listeners.
    Subscribe,
    /// Sending commands to a channel and listening to them.
    Command,
    /// Listening to a channel's user statuses.
    Presence,
    /// Reading a message's status.
    Status,
    /// Cancelling a scheduled message.
    Cancel,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::Publish,
        Operation::Subscribe,
        Operation::Command,
        Operation::Presence,
        Operation::Status,
        Operation::Cancel,
    ];

    /// The name permissions spell it with.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Publish => "publish",
            Operation::Subscribe => "subscribe",
            Operation::Command => "command",
            Operation::Presence => "presence",
            Operation::Status => "status",
            Operation::Cancel => "cancel",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of operations, configured as a list of names (`"*"`: all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Operations(u8);

impl Operations {
    pub fn contains(self, op: Operation) -> bool {
        self.0 & op.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn union(self, other: Operations) -> Operations {
        Operations(self.0 | other.0)
    }

    pub fn of(ops: &[Operation]) -> Operations {
        Operations(ops.iter().fold(0, |bits, op| bits | op.bit()))
    }
}

impl<'de> Deserialize<'de> for Operations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut ops = Operations::default();
        for name in &names {
            if name == "*" {
                ops = Operations::of(&Operation::ALL);
                continue;
            }
            let op = Operation::ALL
                .into_iter()
                .find(|op| op.name() == name)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown operation {name:?}: use publish, subscribe, command, presence, status, cancel or *"
                    ))
                })?;
            ops = ops.union(Operations::of(&[op]));
        }
        Ok(ops)
    }
}
