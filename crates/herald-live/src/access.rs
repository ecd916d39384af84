//! Who a live connection acts as: its app and its caller, decided when it opens, and decided
//! again from the same app id, key (or host), token and origin each time the apps are reloaded.
//!
//! The user token comes from the `user-token` header or, on the live routes only, the
//! `user-token` query parameter: a browser's `EventSource` and `WebSocket` cannot set headers.
//! The header wins when a request has both.

use actix_web::http::header::ORIGIN;
use actix_web::{web, HttpRequest};
use herald_auth::{Access, App, AppRegistry, Apps, Caller, Operation};
use herald_core::{ApiError, ErrorKind};
use herald_http::app_context::{header_token, USER_TOKEN};
use herald_http::forwarded::request_host;
use herald_http::TrustedProxies;
use std::sync::Arc;
use tokio::sync::watch;

use crate::query::query_param;

/// How the connection named its app, kept to find it again in a reloaded registry.
enum Locator {
    Path { app_id: String, api_key: String },
    Host(Option<String>),
}

/// A live connection's app and caller, and what it takes to decide them again.
pub(crate) struct LiveAccess {
    apps: web::Data<Apps>,
    /// `None` once the registry is gone (the process is stopping): nothing reloads any more.
    changes: Option<watch::Receiver<u64>>,
    locator: Locator,
    token: Option<String>,
    origin: Option<String>,
    pub app: Arc<App>,
    pub caller: Caller,
}

impl LiveAccess {
    /// The app and caller of `req`: the app's refusal (9001, 9002), a token that does not verify
    /// (3064), or a query string that does not decode refuse it.
    pub(crate) fn resolve(req: &HttpRequest) -> Result<Self, ApiError> {
        let Some(apps) = req.app_data::<web::Data<Apps>>().cloned() else {
            tracing::error!("the HTTP server was built without its app registry");
            return Err(ApiError::of(ErrorKind::Internal));
        };
        // Listening before reading the registry: a reload between the two is not missed.
        let changes = apps.changes();
        let token = match header_token(req) {
            Some(token) => Some(token.to_string()),
            None => query_param(req, USER_TOKEN)?,
        };
        let info = req.match_info();
        let locator = match (info.get("app_id"), info.get("api_key")) {
            (Some(app_id), Some(api_key)) => Locator::Path {
                app_id: app_id.to_string(),
                api_key: api_key.to_string(),
            },
            _ => {
                let trusted = req.app_data::<web::Data<TrustedProxies>>();
                Locator::Host(request_host(req, trusted.map(|t| t.get_ref())))
            }
        };
        // A header that is not text names no origin a browser sends: it is refused as one.
        let origin = req
            .headers()
            .get(ORIGIN)
            .map(|value| value.to_str().unwrap_or("(not text)").to_string());
        let (app, caller) = decide(&apps.current(), &locator, token.as_deref())?;
        Ok(Self {
            apps,
            changes: Some(changes),
            locator,
            token,
            origin,
            app,
            caller,
        })
    }

    /// `Ok` if the app accepts the request's browser origin, or if it named none (not a
    /// browser). Browsers do not preflight WebSockets: this is the only check a WebSocket gets.
    pub(crate) fn check_origin(&self) -> Result<(), ApiError> {
        match &self.origin {
            Some(origin) if !self.app.allows_origin(origin) => Err(ApiError::new(
                ErrorKind::OriginNotAllowed,
                format!(
                    "origin {origin} is not allowed by application {}",
                    self.app.id
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `Ok` if the caller may do `op` on `channel`, else the operation's refusal.
    pub(crate) fn authorize(&self, op: Operation, channel: &str) -> Result<(), ApiError> {
        self.app.authorize(&self.caller, op, channel)
    }

    /// Waits for the next reload of the apps. Cancel-safe: a reload that happens while the
    /// caller is busy elsewhere is heard on the next call.
    pub(crate) async fn reloaded(&mut self) {
        if let Some(changes) = &mut self.changes {
            if changes.changed().await.is_ok() {
                return;
            }
            self.changes = None;
        }
        std::future::pending::<()>().await
    }

    /// Decides the app and caller again from the registry as it is now: the app gone, the key
    /// no longer one of its keys, the token no longer verifying or the origin no longer
    /// accepted end the connection with the refusal. The app keeps its id, which the
    /// connection's subscriptions are keyed by, whatever case the new configuration spells it.
    pub(crate) fn refresh(&mut self) -> Result<(), ApiError> {
        let (app, caller) = decide(&self.apps.current(), &self.locator, self.token.as_deref())?;
        if app.id != self.app.id {
            return Err(ApiError::new(
                ErrorKind::UnknownApplication,
                format!("application {} was reconfigured as {}", self.app.id, app.id),
            ));
        }
        self.app = app;
        self.caller = caller;
        self.check_origin()
    }
}

fn decide(
    registry: &AppRegistry,
    locator: &Locator,
    token: Option<&str>,
) -> Result<(Arc<App>, Caller), ApiError> {
    let Access { app, key_role } = match locator {
        Locator::Path { app_id, api_key } => registry.by_path(app_id, api_key)?,
        Locator::Host(host) => registry.by_host(host.as_deref())?,
    };
    let caller = app.caller(&key_role, token)?;
    Ok((app, caller))
}
