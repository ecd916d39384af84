//! CORS for every route of the server (REST, live, operations), so a browser page can call
//! herald, and only a page of an origin its app allows. The app is the one the path names
//! (`/<app-id>/...`), or for `/api/...` the one of the request's host, as [`AppContext`] finds
//! it, read from the current registry so a reload applies to the next request.
//!
//! A request without `Origin` is not a browser's cross-origin call: it passes untouched. A
//! preflight (`OPTIONS` with `Origin`) is answered here, 204, and never reaches a route. An origin
//! the app does not allow is refused, preflight or not, with 9045 before any work. A path that
//! resolves no app (the operations endpoints, an unknown app, a bad host) allows any origin, so
//! that the page can read the real error the route answers.
//!
//! [`AppContext`]: crate::AppContext

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use herald_auth::app::Origins;
use herald_auth::{App, Apps};
use herald_core::{ApiError, ErrorKind};
use std::sync::Arc;

use crate::app_context::host_access;
use crate::forwarded::TrustedProxies;
use crate::http_error::HttpError;

/// The methods the routes serve.
const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
/// The request headers the SDKs and herald's own clients send: the body type, the user's token,
/// trace context (W3C) and the idempotency key of a publish. The JS SDK sends no other (its
/// captured requests: docs' reference, "backendless-js-sdk-wire", §2).
const ALLOW_HEADERS: &str = "Content-Type, user-token, traceparent, tracestate, Idempotency-Key";
/// How long a browser may reuse a preflight's answer, s: short, so that a reloaded origin list
/// reaches pages soon (the real requests are checked every time anyway).
const MAX_AGE: &str = "600";

/// The middleware: `App::new().wrap(from_fn(cors))`.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let allow_origin = match allowed_origin(&req, &origin) {
        Ok(value) => value,
        Err(refusal) => {
            let mut response = refusal.error_response();
            vary_origin(&mut response);
            return Ok(req.into_response(response));
        }
    };
    if req.method() == Method::OPTIONS {
        let mut response = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
            .finish();
        vary_origin(&mut response);
        return Ok(req.into_response(response));
    }
    match next.call(req).await {
        Ok(response) => {
            let mut response = response.map_into_boxed_body();
            allow(response.response_mut(), allow_origin);
            Ok(response)
        }
        // An error that escapes the routes is answered later, by actix, with the response made
        // here: the headers go with it. (The request cannot be kept to answer it now: actix
        // needs it unshared while routing.)
        Err(err) => {
            let mut response = err.error_response();
            allow(&mut response, allow_origin);
            Err(InternalError::from_response(err, response).into())
        }
    }
}

/// Lets a page of the allowed origin read `response`.
fn allow(response: &mut HttpResponse, allow_origin: HeaderValue) {
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    vary_origin(response);
}

/// The `Access-Control-Allow-Origin` to answer `origin` with, or its refusal (9045).
fn allowed_origin(req: &ServiceRequest, origin: &HeaderValue) -> Result<HeaderValue, HttpError> {
    let any = HeaderValue::from_static("*");
    let Some(app) = app_of(req) else {
        return Ok(any);
    };
    // An origin that is not even text is allowed by no list.
    let text = origin.to_str().unwrap_or("");
    match &app.origins {
        Origins::Any => Ok(any),
        Origins::Listed(_) if app.allows_origin(text) => Ok(origin.clone()),
        Origins::Listed(_) => Err(HttpError(ApiError::new(
            ErrorKind::OriginNotAllowed,
            format!(
                "origin {} is not allowed by application {}",
                text.escape_debug(),
                app.id
            ),
        ))),
    }
}

/// The app the request's path names, if any: the first segment is the app id, or `api` for the
/// host's app.
fn app_of(req: &ServiceRequest) -> Option<Arc<App>> {
    let apps = req.app_data::<web::Data<Apps>>()?;
    let registry = apps.current();
    let first = req.path().strip_prefix('/')?.split('/').next()?;
    if first == "api" {
        let trusted = req.app_data::<web::Data<TrustedProxies>>();
        return host_access(req.request(), &registry, trusted.map(|t| t.get_ref()))
            .ok()
            .map(|access| access.app);
    }
    // As the router decodes it: `/%74est-app/...` is app `test-app`'s.
    registry.get(&percent_decoded(first)).cloned()
}

/// `segment` with every `%XX` escape decoded (invalid UTF-8 replaced).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Says that the answer depends on `Origin`, so no cache serves one origin's answer to another.
fn vary_origin(response: &mut HttpResponse) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_percent_decoded_and_never_panics() {
        assert_eq!(percent_decoded("%74est-app"), "test-app");
        assert_eq!(percent_decoded("plain"), "plain");
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz%4"), "%zz%4");
        assert_eq!(percent_decoded("%C3%A9"), "é");
        assert_eq!(percent_decoded("%FF"), "\u{FFFD}");
    }
}
