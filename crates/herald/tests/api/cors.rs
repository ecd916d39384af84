//! CORS on every route: preflights answered 204 with what the SDKs need, real answers (errors
//! included) carrying `Access-Control-Allow-Origin`, an origin the app does not list refused with
//! 9045, any origin for an app with `*` (the default) and for paths of no app.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{fresh_prefix, test_config, Backend, TestApp};
use herald::Role;

on_both_backends!(
    a_preflight_from_a_listed_origin_is_answered_with_the_sdks_headers,
    a_real_answer_to_a_listed_origin_carries_it_errors_included,
    an_unlisted_origin_is_refused_with_9045_preflight_or_not,
    an_app_allowing_any_origin_answers_star,
    a_path_of_no_app_allows_any_origin,
    a_request_without_origin_is_untouched,
);

const LISTED: &str = "https://app.example";
const UNLISTED: &str = "https://evil.example";

async fn listing(backend: Backend) -> TestApp {
    let mut config = test_config(backend, &fresh_prefix());
    config.apps[0].cors_origins = vec![LISTED.into(), "http://localhost:3000".into()];
    TestApp::spawn_with(Role::Standalone, config).await
}

/// `method` on `path` (from the root) with `origin`; (status, headers, JSON body or Null).
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut request = app
        .client
        .raw()
        .request(method.clone(), format!("{}{path}", app.client.base));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if method == Method::OPTIONS {
        request = request
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,user-token");
    } else if method == Method::POST {
        request = request.json(&json!({"message": "m"}));
    }
    let response = request.send().await.expect("herald answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn assert_varies_on_origin(headers: &HeaderMap) {
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap_or("").contains("Origin")),
        "{headers:?}"
    );
}

/// Every route family: REST, the live routes, `/api/...`.
const PATHS: [&str; 4] = [
    "/test-app/test-key/messaging/news",
    "/test-app/test-key/messaging/news/sse",
    "/test-app/test-key/messaging/ws",
    "/api/messaging/news",
];

async fn a_preflight_from_a_listed_origin_is_answered_with_the_sdks_headers(backend: Backend) {
    let app = listing(backend).await;
    for path in PATHS {
        let (status, headers, _) = send(&app, Method::OPTIONS, path, Some(LISTED)).await;
        assert_eq!(status, 204, "{path}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(LISTED)
        );
        assert_eq!(
            header(&headers, "access-control-allow-methods"),
            Some("GET, POST, PUT, DELETE, OPTIONS")
        );
        let allowed = header(&headers, "access-control-allow-headers").unwrap_or("");
        for needed in [
            "Content-Type",
            "user-token",
            "traceparent",
            "Idempotency-Key",
        ] {
            assert!(allowed.contains(needed), "{needed} in {allowed}");
        }
        assert!(header(&headers, "access-control-max-age").is_some());
        assert_varies_on_origin(&headers);
    }
}

async fn a_real_answer_to_a_listed_origin_carries_it_errors_included(backend: Backend) {
    let app = listing(backend).await;
    for (method, path, expected) in [
        (Method::POST, "/test-app/test-key/messaging/news", 200),
        (Method::GET, "/test-app/test-key/messaging/garbage", 200),
        (Method::DELETE, "/test-app/test-key/messaging/garbage", 400),
        (Method::PUT, "/test-app/test-key/messaging/news", 405),
        (Method::GET, "/test-app/test-key/nowhere", 404),
        (Method::POST, "/test-app/wrong-key/messaging/news", 401),
    ] {
        let (status, headers, body) = send(&app, method.clone(), path, Some(LISTED)).await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(LISTED),
            "{method} {path}"
        );
        assert_varies_on_origin(&headers);
    }
}

async fn an_unlisted_origin_is_refused_with_9045_preflight_or_not(backend: Backend) {
    let app = listing(backend).await;
    for method in [Method::OPTIONS, Method::POST] {
        for path in PATHS {
            let (status, headers, body) = send(&app, method.clone(), path, Some(UNLISTED)).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (403, Some(9045)),
                "{path}: {body}"
            );
            assert!(body["message"].as_str().unwrap_or("").contains(UNLISTED));
            assert_eq!(header(&headers, "access-control-allow-origin"), None);
        }
    }
    // Listed origins compare without case; the opaque origin `null` is allowed by no list.
    let (status, _, body) = send(&app, Method::POST, PATHS[0], Some("HTTP://LOCALHOST:3000")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(&app, Method::POST, PATHS[0], Some("null")).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(9045)));
}

async fn an_app_allowing_any_origin_answers_star(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for method in [Method::OPTIONS, Method::POST] {
        for path in PATHS {
            let (status, headers, body) = send(&app, method.clone(), path, Some(UNLISTED)).await;
            if method == Method::OPTIONS {
                assert_eq!(status, 204, "{path}: {body}");
            }
            assert_eq!(
                header(&headers, "access-control-allow-origin"),
                Some("*"),
                "{path}"
            );
        }
    }
}

async fn a_path_of_no_app_allows_any_origin(backend: Backend) {
    let app = listing(backend).await;
    for (path, expected) in [
        ("/readyz", 200),
        ("/metrics", 200),
        ("/no-such-app/key/messaging/news", 401),
    ] {
        let (status, headers, body) = send(&app, Method::GET, path, Some(UNLISTED)).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
        let (status, headers, _) = send(&app, Method::OPTIONS, path, Some(UNLISTED)).await;
        assert_eq!(status, 204, "{path}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    }
}

async fn a_request_without_origin_is_untouched(backend: Backend) {
    let app = listing(backend).await;
    let (status, headers, _) = send(&app, Method::POST, PATHS[0], None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    // Without Origin an OPTIONS is no preflight: the route answers it as before.
    let (status, _, body) = send(&app, Method::OPTIONS, PATHS[0], None).await;
    assert_eq!((status, body["code"].as_u64()), (405, Some(9031)), "{body}");
}
