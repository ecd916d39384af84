//! Which operation each realtime subscription and method needs (reference §6), decided when the
//! subscription is made and again when the connection's identity or the app's permissions change,
//! never per message.

use herald_auth::Operation;
use herald_core::ChannelName;

/// The operation the subscription type `name` needs; `None` for a type herald does not serve.
pub(crate) fn operation_of(name: &str) -> Option<Operation> {
    match name {
        "PUB_SUB_CONNECT" | "PUB_SUB_MESSAGES" => Some(Operation::Subscribe),
        "PUB_SUB_COMMANDS" => Some(Operation::Command),
        "PUB_SUB_USERS" => Some(Operation::Presence),
        _ => None,
    }
}

/// A live subscription, as re-deciding it needs it.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub op: Operation,
    pub channel: ChannelName,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subscription_type_needs_its_operation() {
        assert_eq!(operation_of("PUB_SUB_CONNECT"), Some(Operation::Subscribe));
        assert_eq!(operation_of("PUB_SUB_MESSAGES"), Some(Operation::Subscribe));
        assert_eq!(operation_of("PUB_SUB_COMMANDS"), Some(Operation::Command));
        assert_eq!(operation_of("PUB_SUB_USERS"), Some(Operation::Presence));
        assert_eq!(operation_of("PUB_SUB_OTHER"), None);
    }
}
