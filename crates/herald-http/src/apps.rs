//! The applications herald serves and how a request finds its own: by the app id and REST API
//! key in the path (`/<app-id>/<api-key>/...`), or for `/api/...` by the request's host.

use herald_core::{ApiError, ErrorKind};
use herald_runtime::settings::AppConfig;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Arc;

/// One application.
#[derive(Debug)]
pub struct App {
    pub id: String,
    pub api_key: SecretString,
}

/// Every configured application, indexed for both URL forms.
pub struct AppRegistry {
    by_id: HashMap<String, Arc<App>>,
    by_domain: HashMap<String, Arc<App>>,
    /// The app `/api/...` falls back to when exactly one is configured.
    only: Option<Arc<App>>,
}

impl AppRegistry {
    pub fn new(apps: &[AppConfig]) -> Self {
        let mut by_id = HashMap::new();
        let mut by_domain = HashMap::new();
        for config in apps {
            let app = Arc::new(App {
                id: config.id.clone(),
                api_key: config.api_key.clone(),
            });
            // App ids are case-insensitive: Backendless ids are UUIDs, written in either case.
            by_id.insert(config.id.to_ascii_lowercase(), app.clone());
            for domain in &config.domains {
                by_domain.insert(domain.to_ascii_lowercase(), app.clone());
            }
        }
        let only = (by_id.len() == 1)
            .then(|| by_id.values().next().cloned())
            .flatten();
        Self {
            by_id,
            by_domain,
            only,
        }
    }

    /// The app named in the path, if `api_key` is its key.
    /// Every app's id, as configured.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.values().map(|app| app.id.as_str())
    }

    pub fn by_path(&self, app_id: &str, api_key: &str) -> Result<Arc<App>, ApiError> {
        let app = self
            .by_id
            .get(&app_id.to_ascii_lowercase())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::UnknownApplication,
                    format!("application {app_id} does not exist"),
                )
            })?;
        if !constant_time_eq(app.api_key.expose_secret().as_bytes(), api_key.as_bytes()) {
            return Err(ApiError::new(
                ErrorKind::InvalidApiKey,
                format!("the API key is not valid for application {}", app.id),
            ));
        }
        Ok(app.clone())
    }

    /// The app of a request to `/api/...`: the one whose domains list the host, or the only app.
    pub fn by_host(&self, host: Option<&str>) -> Result<Arc<App>, ApiError> {
        let name = host.map(|h| strip_port(h).to_ascii_lowercase());
        if let Some(app) = name.as_ref().and_then(|h| self.by_domain.get(h)) {
            return Ok(app.clone());
        }
        self.only.clone().ok_or_else(|| {
            ApiError::new(
                ErrorKind::UnknownApplication,
                format!(
                    "no application is configured for host {}: use /<app-id>/<api-key>/... or list the host in the app's domains",
                    name.as_deref().unwrap_or("(none)")
                ),
            )
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

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str, key: &str, domains: &[&str]) -> AppConfig {
        AppConfig {
            id: id.into(),
            api_key: SecretString::from(key),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn path_form_checks_id_then_key() {
        let apps = AppRegistry::new(&[app("A1", "k1", &[])]);
        assert_eq!(apps.by_path("a1", "k1").unwrap().id, "A1");
        assert_eq!(
            apps.by_path("nope", "k1").unwrap_err().kind,
            ErrorKind::UnknownApplication
        );
        assert_eq!(
            apps.by_path("A1", "k2").unwrap_err().kind,
            ErrorKind::InvalidApiKey
        );
        assert_eq!(
            apps.by_path("A1", "k").unwrap_err().kind,
            ErrorKind::InvalidApiKey
        );
    }

    #[test]
    fn host_form_uses_domains_then_the_only_app() {
        let two = AppRegistry::new(&[
            app("A1", "k1", &["one.example"]),
            app("A2", "k2", &["two.example"]),
        ]);
        assert_eq!(two.by_host(Some("TWO.example:8080")).unwrap().id, "A2");
        assert_eq!(
            two.by_host(Some("other")).unwrap_err().kind,
            ErrorKind::UnknownApplication
        );
        let one = AppRegistry::new(&[app("A1", "k1", &[])]);
        assert_eq!(one.by_host(Some("localhost:8080")).unwrap().id, "A1");
        assert_eq!(one.by_host(None).unwrap().id, "A1");
    }

    #[test]
    fn strips_ports_but_not_ipv6() {
        assert_eq!(strip_port("example.com:80"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}
