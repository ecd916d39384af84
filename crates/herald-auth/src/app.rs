//! One application as herald serves it: its keys and their roles, its token verifier, its
//! permissions and the origins it accepts, built from its configuration and immutable after
//! (a reload builds a new one).

use herald_core::{ApiError, ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

use crate::caller::Caller;
use crate::permissions::{Operation, Permissions};
use crate::settings::AppConfig;
use crate::token::TokenVerifier;

/// One API key: compared by its digest, so every comparison takes the same time whatever the
/// lengths of the key and of the guess.
struct ApiKey {
    digest: [u8; 32],
    secret: SecretString,
    role: Arc<str>,
}

/// The browser origins an app accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    Any,
    Listed(Vec<String>),
}

pub struct App {
    pub id: String,
    keys: Vec<ApiKey>,
    pub domains: Vec<String>,
    pub origins: Origins,
    tokens: TokenVerifier,
    permissions: Permissions,
    pub publisher_id_is_user: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the app, reading its key files; the error names the field at fault.
    pub fn build(config: &AppConfig) -> Result<Self, String> {
        let keys: Vec<ApiKey> = config
            .all_keys()
            .into_iter()
            .map(|key| ApiKey {
                digest: digest(key.key.expose_secret().as_bytes()),
                secret: key.key,
                role: key.role.into(),
            })
            .collect();
        if keys.is_empty() {
            return Err("configure api_key or at least one keys entry".into());
        }
        let origins = if config.cors_origins.iter().any(|o| o == "*") {
            Origins::Any
        } else {
            let listed: Vec<String> = config
                .cors_origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
                .collect();
            if let Some(bad) = listed.iter().find(|o| !o.contains("://")) {
                return Err(format!(
                    "cors_origins: {bad:?} is not an origin (scheme://host[:port])"
                ));
            }
            Origins::Listed(listed)
        };
        Ok(Self {
            id: config.id.clone(),
            keys,
            domains: config.domains.clone(),
            origins,
            tokens: TokenVerifier::build(&config.tokens)?,
            permissions: Permissions::build(&config.permissions)?,
            publisher_id_is_user: config.publisher_id_is_user,
        })
    }

    /// The key `GET .../info` hands out and `/api/...` requests act under. A key is a client
    /// key: it ships inside apps, and protects nothing by itself.
    pub fn client_key(&self) -> &SecretString {
        &self.keys[0].secret
    }

    /// The role of the client key.
    pub fn client_key_role(&self) -> Arc<str> {
        self.keys[0].role.clone()
    }

    /// The role of `key` if it is one of the app's keys. Every key is compared, in constant time.
    pub fn key_role(&self, key: &str) -> Option<Arc<str>> {
        let guess = digest(key.as_bytes());
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&guess)) {
                found = Some(key.role.clone());
            }
        }
        found
    }

    /// The caller a request with `key_role` and `token` acts as; a token is verified here, and
    /// one that does not verify is refused (3064). An app with no token keys refuses every
    /// token, since none can be checked.
    pub fn caller(&self, key_role: &str, token: Option<&str>) -> Result<Caller, ApiError> {
        let user = match token.filter(|t| !t.is_empty()) {
            None => None,
            Some(token) => Some(self.tokens.verify(token)?),
        };
        Ok(Caller::new(key_role, user))
    }

    /// Whether `caller` may do `op` on `channel`: `Ok`, or the operation's own refusal.
    pub fn authorize(&self, caller: &Caller, op: Operation, channel: &str) -> Result<(), ApiError> {
        if self.permissions.allows(caller, op, channel) {
            return Ok(());
        }
        let (kind, what) = match op {
            Operation::Publish => {
                return Err(ApiError::new(
                    ErrorKind::PublishNotPermitted,
                    "User does not have the permission to publish messages",
                ))
            }
            Operation::Subscribe => (ErrorKind::SubscribeNotPermitted, "subscribe to"),
            Operation::Command => (
                ErrorKind::CommandNotPermitted,
                "send or receive commands on",
            ),
            Operation::Presence => (ErrorKind::PresenceNotPermitted, "watch the users of"),
            Operation::Status => (ErrorKind::StatusNotPermitted, "read message statuses of"),
            Operation::Cancel => (ErrorKind::CancelNotPermitted, "cancel messages of"),
        };
        Err(ApiError::new(
            kind,
            format!("User does not have the permission to {what} channel {channel}"),
        ))
    }

    /// Whether every operation is granted to every caller (no permission configured).
    pub fn is_open(&self) -> bool {
        self.permissions.is_open()
    }

    /// Whether a browser page of `origin` may call.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::Listed(listed) => {
                let origin = origin.trim_end_matches('/');
                listed.iter().any(|o| o.eq_ignore_ascii_case(origin))
            }
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
