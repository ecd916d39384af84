//! Where the real RabbitMQ and Redis are, for the tests that run on them.

use secrecy::SecretString;

/// The URLs of the real RabbitMQ and Redis: the variables scripts/test exports, or the local
/// standard ports.
pub fn real_urls() -> (SecretString, SecretString) {
    let var = |name: &str, default: &str| {
        SecretString::from(std::env::var(name).unwrap_or_else(|_| default.to_string()))
    };
    (
        var("HERALD_AMQP__URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        var("HERALD_REDIS__URL", "redis://127.0.0.1:6379"),
    )
}
