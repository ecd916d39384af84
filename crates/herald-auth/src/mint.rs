//! Minting a user token for an app without an identity provider (`herald token`): HS256, signed
//! with the app's first secret, with the claims the app's verifier reads. Any JWT library mints
//! the same: `{"sub": user, "roles": [...], "iat": now, "exp": now + ttl}` plus `iss` and `aud`
//! when the app names them.

use jsonwebtoken::{encode, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::settings::TokenSettings;

/// A token for `user` with `roles`, valid for `ttl` from now.
pub fn mint(
    settings: &TokenSettings,
    user: &str,
    roles: &[String],
    ttl: Duration,
) -> Result<String, String> {
    let secret = settings
        .secrets
        .first()
        .ok_or("the app has no tokens.secrets to sign with")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|err| err.to_string())?
        .as_secs();
    let mut claims = Map::new();
    claims.insert(settings.user_id_claim.clone(), json!(user));
    claims.insert(settings.roles_claim.clone(), json!(roles));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(ttl.as_secs())));
    if let Some(issuer) = &settings.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    if let Some(audience) = &settings.audience {
        claims.insert("aud".into(), json!(audience));
    }
    encode(
        &Header::default(),
        &Value::Object(claims),
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|err| err.to_string())
}
