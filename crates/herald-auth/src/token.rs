//! Verifying a user token: a JWT signed with one of the app's keys, checked with jsonwebtoken
//! (the most used Rust JWT crate, with the RustCrypto backend so it builds without C). The
//! token's `alg` picks the keys that may have signed it, its `kid` narrows them, and the key must
//! have been configured for that very algorithm, so a token cannot choose how it is checked.
//! `exp` is required, `exp` and `nbf` are checked with the app's leeway, `iss` and `aud` when
//! the app names them. The user id and roles come from the configured claims.

use herald_core::{ApiError, ErrorKind};
use jsonwebtoken::errors::ErrorKind as JwtError;
use jsonwebtoken::{decode, decode_header, Validation};
use serde_json::{Map, Value};

use crate::caller::User;
use crate::keys::{self, TokenKey};
use crate::settings::TokenSettings;
use crate::verified::VerifiedTokens;

/// Checks an app's user tokens.
pub struct TokenVerifier {
    keys: Vec<TokenKey>,
    validation: Validation,
    user_id_claim: String,
    roles_claim: String,
    verified: VerifiedTokens,
}

impl TokenVerifier {
    /// Reads the keys `settings` names (see [`keys::load`]).
    pub fn build(settings: &TokenSettings) -> Result<Self, String> {
        let keys = keys::load(settings)?;
        // The algorithms are set per token, to the one its header names.
        let mut validation = Validation::default();
        validation.leeway = settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &settings.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &settings.issuer {
            validation.set_issuer(&[issuer]);
        }
        Ok(Self {
            keys,
            validation,
            user_id_claim: settings.user_id_claim.clone(),
            roles_claim: settings.roles_claim.clone(),
            verified: VerifiedTokens::default(),
        })
    }

    /// The user `token` names, or Backendless's 3064 saying what is wrong with it.
    pub fn verify(&self, token: &str) -> Result<User, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(user) = self.verified.get(token, now) {
            return Ok(user);
        }
        let header = decode_header(token).map_err(|_| refused("is malformed"))?;
        let mut candidates = self
            .keys
            .iter()
            .filter(|key| key.algorithm == header.alg)
            .filter(|key| match (&header.kid, &key.kid) {
                (Some(wanted), Some(kid)) => wanted == kid,
                // A key configured without a kid verifies any token of its algorithm.
                _ => true,
            })
            .peekable();
        if candidates.peek().is_none() {
            return Err(refused(&format!(
                "is signed with {:?}{}, which no key of the application verifies",
                header.alg,
                header
                    .kid
                    .as_ref()
                    .map(|kid| format!(" and key {kid:?}"))
                    .unwrap_or_default()
            )));
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let mut failure = JwtError::InvalidSignature;
        for key in candidates {
            match decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return self.remember(token, data.claims),
                Err(err) => {
                    failure = err.into_kind();
                    // Only a bad signature can be another key's token; anything else is final.
                    if !matches!(failure, JwtError::InvalidSignature) {
                        break;
                    }
                }
            }
        }
        Err(refused(&explain(&failure)))
    }

    /// The user of a token that verified, remembered for as long as the token is valid.
    fn remember(&self, token: &str, claims: Map<String, Value>) -> Result<User, ApiError> {
        let leeway = self.validation.leeway;
        // Both were checked by the decode (`exp` is required): only their values are read here.
        let exp = claims.get("exp").and_then(Value::as_u64);
        let nbf = claims.get("nbf").and_then(Value::as_u64).unwrap_or(0);
        let user = self.user(claims)?;
        if let Some(exp) = exp {
            self.verified.insert(
                token,
                &user,
                nbf.saturating_sub(leeway),
                exp.saturating_add(leeway),
            );
        }
        Ok(user)
    }

    fn user(&self, mut claims: Map<String, Value>) -> Result<User, ApiError> {
        let id = match claims.remove(&self.user_id_claim) {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => {
                return Err(refused(&format!(
                    "has no user id: its {:?} claim must be a non-empty string",
                    self.user_id_claim
                )))
            }
        };
        let roles = match claims.remove(&self.roles_claim) {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(role) => Ok(role),
                    _ => Err(()),
                })
                .collect::<Result<_, _>>()
                .map_err(|()| self.bad_roles())?,
            Some(_) => return Err(self.bad_roles()),
        };
        Ok(User { id, roles })
    }

    fn bad_roles(&self) -> ApiError {
        refused(&format!(
            "has a {:?} claim that is not an array of strings",
            self.roles_claim
        ))
    }
}

fn explain(failure: &JwtError) -> String {
    let why = match failure {
        JwtError::ExpiredSignature => "is expired",
        JwtError::ImmatureSignature => "is not valid yet (nbf)",
        JwtError::InvalidAudience => "is for another audience",
        JwtError::InvalidIssuer => "is from another issuer",
        JwtError::InvalidSignature => "is badly signed",
        JwtError::MissingRequiredClaim(claim) => return format!("has no {claim} claim"),
        JwtError::InvalidAlgorithm => "is signed with an algorithm the application does not accept",
        _ => "is malformed",
    };
    why.to_string()
}

fn refused(why: &str) -> ApiError {
    ApiError::new(ErrorKind::InvalidUserToken, format!("the user-token {why}"))
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
