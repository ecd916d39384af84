//! The keys an app's user tokens are checked with: HS256 secrets, and public keys read from PEM
//! and JWKS files, each with its algorithm and, where it has one, its `kid`.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::ExposeSecret;
use std::str::FromStr;

use crate::settings::TokenSettings;

/// One key and what it verifies.
pub(crate) struct TokenKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// Reads every key `settings` names; a file that cannot be read or holds no usable key is an
/// error naming it.
pub(crate) fn load(settings: &TokenSettings) -> Result<Vec<TokenKey>, String> {
    let mut keys = Vec::new();
    for secret in &settings.secrets {
        if secret.expose_secret().len() < 32 {
            return Err("tokens.secrets: an HS256 secret must be at least 32 bytes".into());
        }
        keys.push(TokenKey {
            kid: None,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
        });
    }
    for public in &settings.public_keys {
        let field = format!("tokens.public_keys ({})", public.file.display());
        let algorithm = Algorithm::from_str(&public.algorithm)
            .ok()
            .filter(|alg| !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
            .ok_or_else(|| {
                format!(
                    "{field}: {:?} is not a public-key algorithm",
                    public.algorithm
                )
            })?;
        let pem = std::fs::read(&public.file).map_err(|err| format!("{field}: {err}"))?;
        let key = match algorithm {
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
            _ => DecodingKey::from_rsa_pem(&pem),
        }
        .map_err(|err| format!("{field}: not a {algorithm:?} public key: {err}"))?;
        keys.push(TokenKey {
            kid: public.kid.clone(),
            algorithm,
            key,
        });
    }
    for path in &settings.jwks_files {
        let field = format!("tokens.jwks_files ({})", path.display());
        let text = std::fs::read_to_string(path).map_err(|err| format!("{field}: {err}"))?;
        let set: JwkSet =
            serde_json::from_str(&text).map_err(|err| format!("{field}: not a JWKS: {err}"))?;
        if set.keys.is_empty() {
            return Err(format!("{field}: the set holds no key"));
        }
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone();
            let name = kid.as_deref().unwrap_or("(no kid)");
            let algorithm = jwk
                .common
                .key_algorithm
                .and_then(|alg| Algorithm::from_str(&alg.to_string()).ok())
                .ok_or_else(|| format!("{field}: key {name} names no signing algorithm (alg)"))?;
            let key =
                DecodingKey::from_jwk(jwk).map_err(|err| format!("{field}: key {name}: {err}"))?;
            keys.push(TokenKey {
                kid,
                algorithm,
                key,
            });
        }
    }
    Ok(keys)
}
