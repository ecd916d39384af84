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

#[cfg(test)]
// figment::Jail closures must return figment::Result, whose error is large by figment's design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::time::Duration;

    #[derive(Debug, Deserialize)]
    struct Section {
        #[serde(rename = "wait_ms", deserialize_with = "crate::de::millis")]
        wait: Duration,
    }

    #[derive(Debug, Deserialize)]
    struct Settings {
        section: Section,
    }

    const DEFAULTS: &str = "[section]\nwait_ms = 250\n";

    #[test]
    fn a_millisecond_key_loads_as_a_duration_and_the_environment_overrides_it() {
        let settings: Settings = load_defaults(DEFAULTS).unwrap();
        assert_eq!(settings.section.wait, Duration::from_millis(250));
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("HERALD_SECTION__WAIT_MS", "40");
            let settings: Settings = load(DEFAULTS, None).unwrap();
            assert_eq!(settings.section.wait, Duration::from_millis(40));
            Ok(())
        });
    }

    #[test]
    fn a_refused_value_is_reported_as_its_field_and_the_reason() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("HERALD_SECTION__WAIT_MS", "0");
            let err = load::<Settings>(DEFAULTS, None).unwrap_err().to_string();
            assert_eq!(
                err,
                "invalid configuration: section.wait_ms: must be at least 1"
            );
            Ok(())
        });
    }
}
