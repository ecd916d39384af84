//! CORS on the realtime listener: a browser page is on another origin (the realtime port is not
//! the REST port), so socket.io's long-polling needs its preflight answered and its responses
//! to name the origin; an origin the app does not list is refused (9045), on polling and on the
//! WebSocket upgrade, which browsers do not check themselves.

use herald::Role;
use serde_json::Value;

use crate::on_both_backends;
use crate::support::realtime::upgrade_from;
use crate::support::{fresh_prefix, test_config, Backend, TestApp, API_KEY, APP_ID};

on_both_backends!(
    a_listed_origin_gets_its_preflight_and_polling_answered_with_cors_headers,
    an_unlisted_origin_is_refused_on_polling_and_on_the_websocket_upgrade,
);

const PAGE: &str = "https://app.example";

async fn with_listed_origin(backend: Backend) -> TestApp {
    let mut config = test_config(backend, &fresh_prefix());
    config.apps[0].cors_origins = vec![PAGE.into()];
    TestApp::spawn_with(Role::Standalone, config).await
}

fn polling_url(app: &TestApp) -> String {
    let address = app.realtime_address.expect("standalone serves realtime");
    format!(
        "http://{address}/{APP_ID}/?apiKey={API_KEY}&clientId=c&userToken=null&EIO=4&transport=polling"
    )
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn a_listed_origin_gets_its_preflight_and_polling_answered_with_cors_headers(
    backend: Backend,
) {
    let app = with_listed_origin(backend).await;
    let http = app.client.raw();
    let preflight = http
        .request(reqwest::Method::OPTIONS, polling_url(&app))
        .header("origin", PAGE)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some(PAGE)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers"),
        Some("content-type"),
        "only the headers a client sends"
    );

    let handshake = http
        .get(polling_url(&app))
        .header("origin", PAGE)
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(
        header(&handshake, "access-control-allow-origin"),
        Some(PAGE)
    );
    assert_eq!(
        header(&handshake, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&handshake, "vary"), Some("Origin"));
    let open = handshake.text().await.unwrap();
    assert!(open.starts_with("0{"), "the Engine.IO open packet: {open}");

    // Without an Origin, no browser is calling: the response is socket.io's own.
    let plain = http.get(polling_url(&app)).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "access-control-allow-origin"), None);

    let address = app.realtime_address.unwrap();
    assert_eq!(upgrade_from(address, APP_ID, API_KEY, PAGE).await, Ok(()));
}

async fn an_unlisted_origin_is_refused_on_polling_and_on_the_websocket_upgrade(backend: Backend) {
    let app = with_listed_origin(backend).await;
    let evil = "https://evil.example";
    for method in [reqwest::Method::GET, reqwest::Method::OPTIONS] {
        let refused = app
            .client
            .raw()
            .request(method.clone(), polling_url(&app))
            .header("origin", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{method}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["code"], 9045, "{method}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(evil),
            "{method}: {body}"
        );
    }
    let address = app.realtime_address.unwrap();
    assert_eq!(upgrade_from(address, APP_ID, API_KEY, evil).await, Err(403));
}
