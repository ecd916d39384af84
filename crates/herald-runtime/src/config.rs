//! The one layered loader every role's configuration goes through: commented defaults (a TOML
//! text the caller owns), then an optional file, then `HERALD_*` environment variables (`__`
//! between levels). It deserializes into the caller's type, whose fields are parsed types, so a
//! value that cannot be one fails here, and every error names its field. Nothing else in herald
//! reads the environment.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::de::DeserializeOwned;
use std::path::Path;

/// A configuration that could not be loaded or is invalid; the message names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration: {field}: {reason}")]
    Invalid { field: String, reason: String },
}

/// The error of `field`, for checks that span fields (which no one field's type can make).
pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Loads `defaults`, then `file` (which must exist when given), then the `HERALD_*` environment.
pub fn load<T: DeserializeOwned>(defaults: &str, file: Option<&Path>) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Toml::string(defaults));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError::MissingFile(path.display().to_string()));
        }
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(Env::prefixed("HERALD_").split("__"));
    extract(figment)
}

/// `defaults` alone, ignoring the environment (for tests and tools).
pub fn load_defaults<T: DeserializeOwned>(defaults: &str) -> Result<T, ConfigError> {
    extract(Figment::from(Toml::string(defaults)))
}

fn extract<T: DeserializeOwned>(figment: Figment) -> Result<T, ConfigError> {
    figment.extract().map_err(|err| {
        // A value its type refused names its field as `section.key: reason`, as cross-field
        // checks do; an error of no one field (syntax) keeps figment's own wording.
        if err.path.is_empty() {
            ConfigError::Load(Box::new(err))
        } else {
            invalid(err.path.join("."), err.kind.to_string())
        }
    })
}
