//! Reloading the apps on SIGHUP: the configuration is loaded again as at startup (defaults, the
//! file, the environment), every app built again (key files read), and the new registry put in
//! place whole. Requests and connections are not dropped: a request keeps the registry it
//! started with, and live subscriptions are decided again by their transports. A configuration
//! that does not load or validate changes nothing, and the log says why.

use herald_auth::Apps;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Loads the configuration again and applies its apps; the error says why nothing changed.
pub fn reload(apps: &Apps, file: Option<&std::path::Path>) -> Result<(), String> {
    let config = Config::load(file).map_err(|err| err.to_string())?;
    let registry = config.app_registry().map_err(|err| err.to_string())?;
    registry.log_open_apps();
    let count = registry.ids().count();
    apps.replace(registry);
    tracing::info!(
        apps = count,
        "configuration reloaded: apps, keys, token keys and permissions applied"
    );
    Ok(())
}

/// Reloads at every SIGHUP until `shutdown`.
#[cfg(unix)]
pub async fn on_sighup(apps: Arc<Apps>, file: Option<PathBuf>, shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP: the configuration reloads only on restart");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        if let Err(reason) = reload(&apps, file.as_deref()) {
            tracing::error!(%reason, "SIGHUP: the new configuration is not applied, the running one stays");
        }
    }
}

#[cfg(not(unix))]
pub async fn on_sighup(_: Arc<Apps>, _: Option<PathBuf>, _: CancellationToken) {}
