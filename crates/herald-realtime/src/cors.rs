//! CORS for the realtime listener. A browser page is always on another origin than the realtime
//! listener (its port differs from the REST port even on the same host), and socket.io's
//! long-polling uses `withCredentials`, so: a preflight `OPTIONS` is answered here (204, the
//! origin echoed with `Access-Control-Allow-Credentials`, the methods polling uses and the headers
//! asked for among those a client sends); every other response to a request with an `Origin`
//! echoes it, with `Vary: Origin`; an origin the app does not allow is refused with 403
//! `{code: 9045, message}`, on the WebSocket upgrade too (browsers send `Origin` there, and do
//! not check CORS on WebSockets: the server must). A request without `Origin` is no browser's
//! cross-origin call and is left untouched, as is one for a path that is no app's.

use bytes::Bytes;
use herald_auth::AppRegistry;
use herald_core::{ApiError, ErrorKind};
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

/// The request headers a realtime client may send cross-origin.
const ALLOWED_HEADERS: [&str; 4] = ["content-type", "accept", "x-requested-with", "user-token"];

/// What to do with a request before socket.io sees it.
pub(crate) enum Cors {
    /// Serve it; echo this origin on the response.
    Serve(Option<HeaderValue>),
    /// Answer it here.
    Answer(Response<Full<Bytes>>),
}

/// Decides `request` for the app `app_id` of its path under `apps`.
pub(crate) fn check<T>(request: &Request<T>, apps: &AppRegistry, app_id: &str) -> Cors {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return Cors::Serve(None);
    };
    let Some(app) = apps.get(app_id) else {
        return Cors::Serve(None);
    };
    let allowed = origin.to_str().is_ok_and(|o| app.allows_origin(o));
    if !allowed {
        let err = ApiError::new(
            ErrorKind::OriginNotAllowed,
            format!(
                "the origin {} is not allowed by application {}",
                String::from_utf8_lossy(origin.as_bytes()),
                app.id
            ),
        );
        return Cors::Answer(refusal(&err));
    }
    if request.method() == Method::OPTIONS {
        return Cors::Answer(preflight(request.headers(), origin));
    }
    Cors::Serve(Some(origin))
}

/// Adds the CORS headers of an allowed `origin` to a response socket.io made.
pub(crate) fn allow<B>(response: &mut Response<B>, origin: HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn preflight(request: &HeaderMap, origin: HeaderValue) -> Response<Full<Bytes>> {
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let granted: Vec<String> = asked
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| ALLOWED_HEADERS.contains(&h.as_str()))
        .collect();
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    allow(&mut response, origin);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    if let Ok(value) = HeaderValue::from_str(&granted.join(", ")) {
        if !granted.is_empty() {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn refusal(err: &ApiError) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"code": err.kind.code(), "message": err.message}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
