//! One `[[apps]]` entry: an application, its API keys with their roles, how its user tokens are
//! verified, its channel permissions and the browser origins it accepts. Each field's own type
//! checks it here; what spans fields (and the key files) is checked when the app is built
//! ([`crate::App::build`]), at startup and at every reload alike.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

use crate::operation::{Operation, Operations};

/// The development app `cargo run` serves when no app is configured.
pub const DEV_APP_ID: &str = "herald-dev";
pub const DEV_API_KEY: &str = "herald-dev-key";

/// The role of a key configured without one, as Backendless gives REST callers.
pub const DEFAULT_KEY_ROLE: &str = "RestUser";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    #[serde(deserialize_with = "app_id")]
    pub id: String,
    /// One key with the role `RestUser`: shorthand for a `keys` entry.
    #[serde(default, deserialize_with = "optional_key")]
    pub api_key: Option<SecretString>,
    /// The app's keys, each with its role. The first (after `api_key`) is the client key that
    /// `GET .../info` hands out and that `/api/...` requests act under.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// The host names whose `/api/...` requests belong to this app.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The browser origins allowed to call (`*`: any, as a client-key API needs).
    #[serde(default = "any_origin")]
    pub cors_origins: Vec<String>,
    #[serde(default)]
    pub tokens: TokenSettings,
    /// Empty: every operation is granted to every caller.
    #[serde(default)]
    pub permissions: Vec<PermissionConfig>,
    /// A publish's `publisherId` is the publishing user's id, and another value is refused.
    #[serde(default)]
    pub publisher_id_is_user: bool,
}

impl AppConfig {
    /// The development app, served when none is configured (in memory only).
    pub fn development() -> Self {
        Self::with_key(DEV_APP_ID, DEV_API_KEY)
    }

    /// An app with one `RestUser` key and nothing else configured.
    pub fn with_key(id: &str, key: &str) -> Self {
        Self {
            id: id.into(),
            api_key: Some(SecretString::from(key)),
            keys: vec![],
            domains: vec![],
            cors_origins: any_origin(),
            tokens: TokenSettings::default(),
            permissions: vec![],
            publisher_id_is_user: false,
        }
    }

    /// Every key with its role, `api_key` first.
    pub fn all_keys(&self) -> Vec<KeyConfig> {
        let shorthand = self.api_key.iter().map(|key| KeyConfig {
            key: key.clone(),
            role: DEFAULT_KEY_ROLE.into(),
        });
        shorthand.chain(self.keys.iter().cloned()).collect()
    }
}

fn any_origin() -> Vec<String> {
    vec!["*".into()]
}

/// One API key and the role its callers have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    #[serde(deserialize_with = "key")]
    pub key: SecretString,
    #[serde(default = "default_role")]
    pub role: String,
}

fn default_role() -> String {
    DEFAULT_KEY_ROLE.into()
}

/// `[apps.tokens]`: how the app's user tokens (JWTs) are verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// HS256 secrets; several are valid at once, so a secret can be rotated. The first signs the
    /// tokens `herald token` mints.
    pub secrets: Vec<SecretString>,
    /// Public keys in PEM files, for RS256, ES256 or EdDSA tokens.
    pub public_keys: Vec<PublicKeyConfig>,
    /// JWKS files (`{"keys": [...]}`), each key named by its `kid`.
    pub jwks_files: Vec<PathBuf>,
    /// When set, a token's `iss` must be this.
    pub issuer: Option<String>,
    /// When set, a token's `aud` must hold this.
    pub audience: Option<String>,
    /// How far `exp` and `nbf` may be off, for clocks that differ a little.
    #[serde(
        rename = "leeway_seconds",
        deserialize_with = "herald_runtime::de::seconds"
    )]
    pub leeway: Duration,
    /// The claim holding the user id.
    pub user_id_claim: String,
    /// The claim holding the user's roles, an array of strings.
    pub roles_claim: String,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secrets: vec![],
            public_keys: vec![],
            jwks_files: vec![],
            issuer: None,
            audience: None,
            leeway: Duration::from_secs(30),
            user_id_claim: "sub".into(),
            roles_claim: "roles".into(),
        }
    }
}

/// A public key in a PEM file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyConfig {
    pub file: PathBuf,
    /// `RS256`, `RS384`, `RS512`, `PS256`, `ES256`, `ES384` or `EdDSA`.
    pub algorithm: String,
    /// The `kid` tokens signed with it carry; a token without a `kid` tries every key.
    pub kid: Option<String>,
}

/// One `[[apps.permissions]]` entry: what a role or a user may or may not do, everywhere (no
/// `channel`, roles only) or on the channels `channel` names (an exact name or a glob).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionConfig {
    pub channel: Option<String>,
    pub role: Option<String>,
    pub user: Option<String>,
    #[serde(default)]
    pub grant: Operations,
    #[serde(default)]
    pub deny: Operations,
}

impl PermissionConfig {
    /// The entry granting `grant` and denying `deny` to `role` or `user`, on `channel` or (None)
    /// everywhere: as a configuration file spells it.
    pub fn new(
        channel: Option<&str>,
        role: Option<&str>,
        user: Option<&str>,
        grant: &[Operation],
        deny: &[Operation],
    ) -> Self {
        Self {
            channel: channel.map(Into::into),
            role: role.map(Into::into),
            user: user.map(Into::into),
            grant: Operations::of(grant),
            deny: Operations::of(deny),
        }
    }
}

fn app_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    // `:`, `{` and `}` separate and tag Redis keys; `/` separates the URL's parts.
    let forbidden = |c: char| c.is_whitespace() || matches!(c, '/' | ':' | '{' | '}');
    if id.is_empty() || id.chars().any(forbidden) {
        return Err(serde::de::Error::custom(format!(
            "{id:?} is not a valid app id: it must be non-empty, without whitespace, '/', ':', '{{' or '}}'"
        )));
    }
    if id.eq_ignore_ascii_case("api") {
        return Err(serde::de::Error::custom(
            "\"api\" is reserved for the /api/... URL form",
        ));
    }
    Ok(id)
}

fn key<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    let key = SecretString::deserialize(d)?;
    if key.expose_secret().is_empty() {
        return Err(serde::de::Error::custom("an app has an empty API key"));
    }
    Ok(key)
}

fn optional_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    key(d).map(Some)
}
