//! Apps with user tokens and permissions, and the tokens to call them with, for the security
//! tests of every transport. The secured app's permissions are the example of docs/security.md:
//! `news` is open to everyone; `orders.*` may be published to by editors and read by viewers;
//! the user `mallory` is denied everything on `orders.*` whatever her roles; logged-in users may
//! send and listen to commands and watch presence everywhere; `status` and `cancel` are granted
//! to editors.

use herald::config::Config;
use herald_auth::permissions::Operations;
use herald_auth::settings::PermissionConfig;
use herald_auth::AppConfig;
use jsonwebtoken::{encode, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{json, Value};

/// The HS256 secret of the secured test app.
pub const SECRET: &str = "herald-test-secret-at-least-32-bytes-long";

/// A permission entry: `ops` are permission names as in the configuration (`"*"` for all).
pub fn permission(
    channel: Option<&str>,
    role: Option<&str>,
    user: Option<&str>,
    grant: &[&str],
    deny: &[&str],
) -> PermissionConfig {
    let ops = |names: &[&str]| -> Operations {
        serde_json::from_value(json!(names)).expect("operation names")
    };
    PermissionConfig {
        channel: channel.map(Into::into),
        role: role.map(Into::into),
        user: user.map(Into::into),
        grant: ops(grant),
        deny: ops(deny),
    }
}

/// The docs' example permissions.
pub fn example_permissions() -> Vec<PermissionConfig> {
    vec![
        permission(
            Some("news"),
            Some("NotAuthenticatedUser"),
            None,
            &["*"],
            &[],
        ),
        permission(Some("news"), Some("AuthenticatedUser"), None, &["*"], &[]),
        permission(
            Some("orders.*"),
            Some("editor"),
            None,
            &["publish", "subscribe", "status", "cancel"],
            &[],
        ),
        permission(Some("orders.*"), Some("viewer"), None, &["subscribe"], &[]),
        permission(Some("orders.*"), None, Some("mallory"), &[], &["*"]),
        permission(
            None,
            Some("AuthenticatedUser"),
            None,
            &["command", "presence"],
            &[],
        ),
    ]
}

/// Makes the test app of `config` the secured one: HS256 tokens signed with [`SECRET`] and the
/// example permissions.
pub fn secure(config: &mut Config) {
    let app: &mut AppConfig = &mut config.apps[0];
    app.tokens.secrets = vec![SecretString::from(SECRET)];
    app.permissions = example_permissions();
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// A token signed with `secret` for `claims`.
pub fn sign(claims: Value, secret: &str) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signs")
}

/// A valid token of `user` with `roles`, for an hour.
pub fn token(user: &str, roles: &[&str]) -> String {
    sign(
        json!({"sub": user, "roles": roles, "exp": now() + 3600}),
        SECRET,
    )
}

/// Tokens that must be refused with 3064, each with the word its refusal says.
pub fn bad_tokens() -> Vec<(&'static str, String)> {
    vec![
        (
            "expired",
            sign(json!({"sub": "u", "exp": now() - 3600}), SECRET),
        ),
        (
            "not valid yet",
            sign(
                json!({"sub": "u", "exp": now() + 3600, "nbf": now() + 1800}),
                SECRET,
            ),
        ),
        (
            "badly signed",
            sign(
                json!({"sub": "u", "exp": now() + 3600}),
                "another-secret-at-least-32-bytes-long!!",
            ),
        ),
        ("malformed", "not-a-token".to_string()),
    ]
}
