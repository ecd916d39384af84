//! The extractor every messaging route starts with: it resolves the calling application from the
//! URL form, refuses the request before any work when the app id or API key is wrong, and
//! verifies the request's `user-token` into the [`Caller`] its operations run as.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use herald_auth::{Access, App, AppRegistry, Apps, Caller, Operation};
use herald_core::{ApiError, ErrorKind};
use std::future::{ready, Ready};
use std::sync::Arc;

use crate::forwarded::{request_host, TrustedProxies};
use crate::http_error::HttpError;

/// The header a logged-in user's token comes in (reference §6).
pub const USER_TOKEN: &str = "user-token";

/// The application a request belongs to, and who it runs as.
pub struct AppContext {
    pub app: Arc<App>,
    pub caller: Caller,
}

impl AppContext {
    /// Resolves `req`'s app and verifies `token` (the caller's choice of where it came from).
    pub fn resolve(req: &HttpRequest, token: Option<&str>) -> Result<Self, HttpError> {
        let Some(apps) = req.app_data::<web::Data<Apps>>() else {
            tracing::error!("the HTTP server was built without its app registry");
            return Err(HttpError(ApiError::of(ErrorKind::Internal)));
        };
        let registry = apps.current();
        let info = req.match_info();
        let access = match (info.get("app_id"), info.get("api_key")) {
            (Some(id), Some(key)) => registry.by_path(id, key)?,
            _ => {
                let trusted = req.app_data::<web::Data<TrustedProxies>>();
                host_access(req, &registry, trusted.map(|t| t.get_ref()))?
            }
        };
        let caller = access.app.caller(&access.key_role, token)?;
        Ok(Self {
            app: access.app,
            caller,
        })
    }

    /// `Ok` if the caller may do `op` on `channel`, else the operation's refusal.
    pub fn authorize(&self, op: Operation, channel: &str) -> Result<(), HttpError> {
        self.app
            .authorize(&self.caller, op, channel)
            .map_err(HttpError)
    }
}

/// The app of a request to `/api/...`: the one of the host it names (a forwarded host only from a
/// trusted proxy). CORS finds a request's app the same way.
pub(crate) fn host_access(
    req: &HttpRequest,
    registry: &AppRegistry,
    trusted: Option<&TrustedProxies>,
) -> Result<Access, ApiError> {
    registry.by_host(request_host(req, trusted).as_deref())
}

/// The `user-token` header, if the request has one.
pub fn header_token(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(USER_TOKEN)
        .and_then(|value| value.to_str().ok())
}

impl FromRequest for AppContext {
    type Error = HttpError;
    type Future = Ready<Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::resolve(req, header_token(req)))
    }
}
