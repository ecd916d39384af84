//! Who a realtime connection acts as: the API key of its handshake and the user token it logged
//! in with (the handshake's `userToken`, replaced by `SET_USER_TOKEN`), and the [`Caller`] they
//! make. Both are kept, not only the caller, so that a reload can verify them again under the new
//! configuration (a key revoked or a token key rotated away ends the connection).

use herald_auth::{Access, AppRegistry, Caller};
use herald_core::ApiError;
use serde_json::Value;
use socketioxide::extract::SocketRef;

/// Why a handshake is refused: the CONNECT_ERROR payload is the Backendless error shape
/// `{code, message}` (herald's patched socketioxide-parser-common sends a message that is a JSON
/// object as the payload itself, see vendor/socketioxide-parser-common/PATCHED.md), and the same
/// again as `data`, since socket.io-client hands a connect error's `message` and `data` only.
#[derive(Debug)]
pub struct Refused(pub ApiError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, message) = (self.0.kind.code(), &self.0.message);
        let body = serde_json::json!({
            "code": code,
            "message": message,
            "data": {"code": code, "message": message},
        });
        write!(f, "{body}")
    }
}

impl std::error::Error for Refused {}

/// A connection's credentials and the caller they verified as. Not `Debug`: the key and token are
/// never to be logged.
#[derive(Clone)]
pub(crate) struct Identity {
    /// Kept to be checked again on reload; it is a client key, which ships inside apps.
    api_key: String,
    token: Option<String>,
    pub caller: Caller,
}

impl Identity {
    /// The identity of the handshake of `socket` to `app`: its `apiKey` must be one of the app's
    /// keys (9001/9002), its `userToken`, unless absent, empty or the SDK's `"null"`, must verify
    /// (3064).
    pub(crate) fn handshake(
        socket: &SocketRef,
        apps: &AppRegistry,
        app: &str,
    ) -> Result<Self, Refused> {
        let query = socket.req_parts().uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let find = |wanted: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.clone())
        };
        let api_key = find("apiKey").unwrap_or_default();
        let token = find("userToken").and_then(logged_in);
        let (_, identity) = Self::verify(apps, app, api_key, token).map_err(Refused)?;
        Ok(identity)
    }

    /// Verifies `api_key` and `token` for `app` in `apps`: the app's access and the identity.
    pub(crate) fn verify(
        apps: &AppRegistry,
        app: &str,
        api_key: String,
        token: Option<String>,
    ) -> Result<(Access, Self), ApiError> {
        let access = apps.by_path(app, &api_key)?;
        let caller = access.app.caller(&access.key_role, token.as_deref())?;
        Ok((
            access,
            Self {
                api_key,
                token,
                caller,
            },
        ))
    }

    /// The same credentials verified again under `apps` (a reload).
    pub(crate) fn reverify(
        &self,
        apps: &AppRegistry,
        app: &str,
    ) -> Result<(Access, Self), ApiError> {
        Self::verify(apps, app, self.api_key.clone(), self.token.clone())
    }

    /// This connection's key with another token (`SET_USER_TOKEN`), verified under `apps`.
    pub(crate) fn with_token(
        &self,
        apps: &AppRegistry,
        app: &str,
        token: Option<String>,
    ) -> Result<(Access, Self), ApiError> {
        Self::verify(apps, app, self.api_key.clone(), token)
    }
}

/// A token as the SDKs send it, `None` when the client is not logged in: the handshake carries
/// the string `"null"` then, `SET_USER_TOKEN` a JSON null (or nothing) after a logout.
pub(crate) fn logged_in(token: String) -> Option<String> {
    (!token.is_empty() && token != "null").then_some(token)
}

/// The `userToken` of `SET_USER_TOKEN`'s options.
pub(crate) fn option_token(options: &Value) -> Option<String> {
    match options.get("userToken") {
        Some(Value::String(token)) => logged_in(token.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sdks_ways_of_saying_not_logged_in_are_no_token() {
        assert_eq!(logged_in("null".into()), None);
        assert_eq!(logged_in(String::new()), None);
        assert_eq!(logged_in("t".into()), Some("t".into()));
        assert_eq!(option_token(&json!({"userToken": null})), None);
        assert_eq!(option_token(&json!({})), None);
        assert_eq!(option_token(&json!({"userToken": 42})), None);
        assert_eq!(option_token(&json!({"userToken": "t"})), Some("t".into()));
    }

    #[test]
    fn a_refusal_is_backendless_error_shape_and_socket_io_data() {
        let err = ApiError::new(herald_core::ErrorKind::InvalidUserToken, "bad");
        let body: Value = serde_json::from_str(&Refused(err).to_string()).unwrap();
        assert_eq!(
            body,
            json!({"code": 3064, "message": "bad", "data": {"code": 3064, "message": "bad"}})
        );
    }
}
