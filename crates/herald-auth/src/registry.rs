//! Every application herald serves, and how a request finds its own: by the app id and API key
//! in the path (`/<app-id>/<api-key>/...`), or for `/api/...` by a domain configured for the app.
//! Only the in-memory development mode falls back to its only app for an unknown host.

use herald_core::{ApiError, ErrorKind};
use herald_runtime::config::{invalid, ConfigError};
use std::collections::HashMap;
use std::sync::Arc;

use crate::app::App;
use crate::settings::AppConfig;

/// An app a request belongs to, and the role of the key it came with.
#[derive(Debug, Clone)]
pub struct Access {
    pub app: Arc<App>,
    pub key_role: Arc<str>,
}

/// Every configured application, indexed for both URL forms.
#[derive(Debug)]
pub struct AppRegistry {
    by_id: HashMap<String, Arc<App>>,
    by_domain: HashMap<String, Arc<App>>,
    /// The app `/api/...` falls back to in the development mode.
    fallback: Option<Arc<App>>,
}

impl AppRegistry {
    /// Builds every app (reading their key files); `development` lets `/api/...` from any host
    /// reach the only app. The error names the app and field at fault.
    pub fn build(configs: &[AppConfig], development: bool) -> Result<Self, ConfigError> {
        let mut by_id = HashMap::new();
        let mut by_domain = HashMap::new();
        for (index, config) in configs.iter().enumerate() {
            let app = Arc::new(
                App::build(config)
                    .map_err(|reason| invalid(format!("apps[{index}] ({})", config.id), reason))?,
            );
            // App ids are case-insensitive: Backendless ids are UUIDs, written in either case.
            if by_id
                .insert(config.id.to_ascii_lowercase(), app.clone())
                .is_some()
            {
                return Err(invalid(
                    "apps.id",
                    format!("app {} is configured twice", config.id),
                ));
            }
            for domain in &config.domains {
                if let Some(other) = by_domain.insert(domain.to_ascii_lowercase(), app.clone()) {
                    return Err(invalid(
                        "apps.domains",
                        format!(
                            "domain {domain} is listed by apps {} and {}",
                            other.id, config.id
                        ),
                    ));
                }
            }
        }
        let fallback = (development && by_id.len() == 1)
            .then(|| by_id.values().next().cloned())
            .flatten();
        Ok(Self {
            by_id,
            by_domain,
            fallback,
        })
    }

    /// Says, for each app with no permissions, that it grants everything.
    pub fn log_open_apps(&self) {
        for app in self.by_id.values().filter(|app| app.is_open()) {
            tracing::warn!(
                app = %app.id,
                "the app configures no permissions: every operation on every channel is granted to every caller"
            );
        }
    }

    /// Every app's id, as configured.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.values().map(|app| app.id.as_str())
    }

    /// The app of id `app_id` (any case).
    pub fn get(&self, app_id: &str) -> Option<&Arc<App>> {
        self.by_id.get(&app_id.to_ascii_lowercase())
    }

    /// The app named in the path, if `api_key` is one of its keys.
    pub fn by_path(&self, app_id: &str, api_key: &str) -> Result<Access, ApiError> {
        let app = self.get(app_id).ok_or_else(|| {
            ApiError::new(
                ErrorKind::UnknownApplication,
                format!("application {app_id} does not exist"),
            )
        })?;
        let key_role = app.key_role(api_key).ok_or_else(|| {
            ApiError::new(
                ErrorKind::InvalidApiKey,
                format!("the API key is not valid for application {}", app.id),
            )
        })?;
        Ok(Access {
            app: app.clone(),
            key_role,
        })
    }

    /// The app of a request to `/api/...` for `host`, acting under its client key.
    pub fn by_host(&self, host: Option<&str>) -> Result<Access, ApiError> {
        let name = host.map(|h| strip_port(h).to_ascii_lowercase());
        let app = name
            .as_ref()
            .and_then(|h| self.by_domain.get(h))
            .or(self.fallback.as_ref())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::UnknownApplication,
                    format!(
                        "no application is configured for host {}: use /<app-id>/<api-key>/... or list the host in the app's domains",
                        name.as_deref().unwrap_or("(none)")
                    ),
                )
            })?;
        Ok(Access {
            app: app.clone(),
            key_role: app.client_key_role(),
        })
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal: the port, if any, follows the closing bracket.
        return rest.find(']').map_or(host, |end| &host[..end + 2]);
    }
    host.split_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
