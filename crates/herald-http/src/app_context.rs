//! The extractor every messaging route starts with: it resolves the calling application from the
//! URL form, and refuses the request before any work when the app id or API key is wrong.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};
use std::sync::Arc;

use crate::apps::{App, AppRegistry};
use crate::http_error::HttpError;

/// The application a request belongs to.
pub struct AppContext(pub Arc<App>);

impl FromRequest for AppContext {
    type Error = HttpError;
    type Future = Ready<Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(apps) = req.app_data::<web::Data<AppRegistry>>() else {
            return ready(Err(HttpError(herald_core::ApiError::of(
                herald_core::ErrorKind::Internal,
            ))));
        };
        let info = req.match_info();
        let app = match (info.get("app_id"), info.get("api_key")) {
            (Some(id), Some(key)) => apps.by_path(id, key),
            _ => apps.by_host(Some(req.connection_info().host())),
        };
        ready(app.map(AppContext).map_err(HttpError))
    }
}
