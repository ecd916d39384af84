//! The one table of errors herald answers with: each kind has a Backendless-style numeric code,
//! an HTTP status and a summary. The error table of docs/errors.md is checked against [`ErrorKind::ALL`].

use std::fmt;

/// Every error herald can answer a client with.
///
/// 3064, 5003, 5007, 5030 and 5040 are Backendless's own codes (reference §1.5, §3); the 9xxx codes are
/// herald's. A code, once published, never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRepeatExpiresAt,
    PublishNotPermitted,
    InvalidPublishAt,
    CannotCancel,
    InvalidUserToken,
    SubscribeNotPermitted,
    CommandNotPermitted,
    PresenceNotPermitted,
    StatusNotPermitted,
    CancelNotPermitted,
    OriginNotAllowed,
    PublisherIdNotTheUser,
    UnknownApplication,
    InvalidApiKey,
    UnsupportedMediaType,
    PayloadTooLarge,
    MalformedJson,
    BodyNotAnObject,
    MissingMessage,
    InvalidChannelName,
    InvalidField,
    InvalidRepeatEvery,
    PushNotSupported,
    UnknownSubscription,
    InvalidSelector,
    SubscriberTooSlow,
    RouteNotFound,
    MethodNotAllowed,
    QueueUnavailable,
    StoreUnavailable,
    Internal,
}

impl ErrorKind {
    /// Every kind, in table order (used to check the table of docs/errors.md).
    pub const ALL: [ErrorKind; 31] = [
        ErrorKind::InvalidRepeatExpiresAt,
        ErrorKind::PublishNotPermitted,
        ErrorKind::InvalidPublishAt,
        ErrorKind::CannotCancel,
        ErrorKind::InvalidUserToken,
        ErrorKind::SubscribeNotPermitted,
        ErrorKind::CommandNotPermitted,
        ErrorKind::PresenceNotPermitted,
        ErrorKind::StatusNotPermitted,
        ErrorKind::CancelNotPermitted,
        ErrorKind::OriginNotAllowed,
        ErrorKind::PublisherIdNotTheUser,
        ErrorKind::UnknownApplication,
        ErrorKind::InvalidApiKey,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::PayloadTooLarge,
        ErrorKind::MalformedJson,
        ErrorKind::BodyNotAnObject,
        ErrorKind::MissingMessage,
        ErrorKind::InvalidChannelName,
        ErrorKind::InvalidField,
        ErrorKind::InvalidRepeatEvery,
        ErrorKind::PushNotSupported,
        ErrorKind::UnknownSubscription,
        ErrorKind::InvalidSelector,
        ErrorKind::SubscriberTooSlow,
        ErrorKind::RouteNotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::QueueUnavailable,
        ErrorKind::StoreUnavailable,
        ErrorKind::Internal,
    ];

    /// The table: (Backendless-style code, HTTP status, summary).
    const fn entry(self) -> (u32, u16, &'static str) {
        use ErrorKind::*;
        match self {
            InvalidRepeatExpiresAt => (5003, 400, "invalid repeatExpiresAt"),
            PublishNotPermitted => (5007, 403, "no permission to publish"),
            InvalidPublishAt => (5030, 400, "invalid publishAt"),
            CannotCancel => (5040, 400, "message already cancelled, finished or unknown"),
            InvalidUserToken => (3064, 401, "user-token malformed, expired or badly signed"),
            SubscribeNotPermitted => (9040, 403, "no permission to subscribe"),
            CommandNotPermitted => (9041, 403, "no permission for commands"),
            PresenceNotPermitted => (9042, 403, "no permission to watch presence"),
            StatusNotPermitted => (9043, 403, "no permission to read a status"),
            CancelNotPermitted => (9044, 403, "no permission to cancel"),
            OriginNotAllowed => (9045, 403, "browser origin not allowed by the app"),
            PublisherIdNotTheUser => (9046, 403, "publisherId must be the user's id"),
            UnknownApplication => (9001, 401, "unknown application id"),
            InvalidApiKey => (9002, 401, "wrong API key for the application"),
            UnsupportedMediaType => (9003, 415, "Content-Type must be application/json"),
            PayloadTooLarge => (9004, 413, "request body over the size limit"),
            MalformedJson => (9005, 400, "request body is not valid JSON"),
            BodyNotAnObject => (9006, 400, "request body must be a JSON object"),
            MissingMessage => (9007, 400, "the message field is missing"),
            InvalidChannelName => (9010, 400, "channel name empty, too long or holding '/'"),
            InvalidField => (9011, 400, "a field has the wrong type"),
            InvalidRepeatEvery => (
                9012,
                400,
                "repeatEvery must be a whole number of seconds >= 1",
            ),
            PushNotSupported => (9013, 400, "push-only publishing is not supported"),
            UnknownSubscription => (9020, 404, "unknown or expired subscription"),
            InvalidSelector => (9021, 400, "invalid selector"),
            SubscriberTooSlow => (
                9022,
                429,
                "live subscriber too slow: disconnected, its buffer full",
            ),
            RouteNotFound => (9030, 404, "no such route"),
            MethodNotAllowed => (9031, 405, "method not allowed on this route"),
            QueueUnavailable => (9503, 503, "message queue unavailable, retry later"),
            StoreUnavailable => (9504, 503, "state store unavailable, retry later"),
            Internal => (9500, 500, "internal error"),
        }
    }

    pub const fn code(self) -> u32 {
        self.entry().0
    }

    pub const fn http_status(self) -> u16 {
        self.entry().1
    }

    pub const fn summary(self) -> &'static str {
        self.entry().2
    }
}

/// An error answered to a client: a kind from the table and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The error with the kind's summary as its message.
    pub fn of(kind: ErrorKind) -> Self {
        Self::new(kind, kind.summary())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.code())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique() {
        let codes: HashSet<u32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn only_server_side_kinds_answer_5xx() {
        for kind in ErrorKind::ALL {
            let server_side = matches!(
                kind,
                ErrorKind::QueueUnavailable | ErrorKind::StoreUnavailable | ErrorKind::Internal
            );
            assert_eq!(kind.http_status() >= 500, server_side, "{kind:?}");
            assert_ne!(kind.http_status(), 502, "the JS SDK hides a 502's body");
        }
    }

    #[test]
    fn the_error_docs_list_every_code() {
        let table = include_str!("../../../docs/errors.md");
        for kind in ErrorKind::ALL {
            let row = format!("| {} | {} |", kind.code(), kind.http_status());
            assert!(table.contains(&row), "docs/errors.md lacks `{row}`");
        }
    }
}
