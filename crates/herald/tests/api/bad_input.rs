//! Every bad input gets its documented 4xx code and a `{code, message}` body, never a 5xx.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{now_ms, Backend, Client, TestApp, API_KEY, APP_ID};

on_both_backends!(
    every_bad_input_gets_its_documented_code,
    bad_input_never_reaches_the_queue
);

/// One bad request: what is sent and what must come back.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: u32,
}

impl Case {
    async fn send(&self, client: &Client) -> (u16, Value) {
        let mut request = client
            .raw()
            .request(self.method.clone(), format!("{}{}", client.base, self.path))
            .body(self.body.clone());
        if let Some(content_type) = self.content_type {
            request = request.header("Content-Type", content_type);
        }
        client.send(request).await
    }
}

fn case(name: &'static str, path: &str, body: Value, status: u16, code: u32) -> Case {
    Case {
        name,
        method: Method::POST,
        path: path.to_string(),
        content_type: Some("application/json"),
        body: serde_json::to_vec(&body).unwrap(),
        status,
        code,
    }
}

fn cases() -> Vec<Case> {
    let app = format!("/{APP_ID}/{API_KEY}");
    let publish = format!("{app}/messaging/news");
    let now = now_ms();
    let long_channel = "c".repeat(256);
    let mut cases = vec![
        case(
            "unknown app id",
            &format!("/nope/{API_KEY}/messaging/news"),
            json!({"message": 1}),
            401,
            9001,
        ),
        case(
            "wrong api key",
            &format!("/{APP_ID}/wrong/messaging/news"),
            json!({"message": 1}),
            401,
            9002,
        ),
        case("body is an array", &publish, json!([1]), 400, 9006),
        case("body is a string", &publish, json!("text"), 400, 9006),
        case(
            "no message field",
            &publish,
            json!({"headers": {}}),
            400,
            9007,
        ),
        case(
            "empty channel",
            &format!("{app}/messaging/"),
            json!({"message": 1}),
            400,
            9010,
        ),
        case(
            "channel too long",
            &format!("{app}/messaging/{long_channel}"),
            json!({"message": 1}),
            400,
            9010,
        ),
        case(
            "channel with encoded slash",
            &format!("{app}/messaging/a%2Fb"),
            json!({"message": 1}),
            400,
            9010,
        ),
        case(
            "channel with slash",
            &format!("{app}/messaging/a/b"),
            json!({"message": 1}),
            400,
            9010,
        ),
        case(
            "channel with slashes",
            &format!("{app}/messaging/a/b/c"),
            json!({"message": 1}),
            400,
            9010,
        ),
        case(
            "publisherId not a string",
            &publish,
            json!({"message": 1, "publisherId": 7}),
            400,
            9011,
        ),
        case(
            "headers not an object",
            &publish,
            json!({"message": 1, "headers": [1]}),
            400,
            9011,
        ),
        case(
            "nested header value",
            &publish,
            json!({"message": 1, "headers": {"a": {"b": 1}}}),
            400,
            9011,
        ),
        case(
            "publishAt too far in the past",
            &publish,
            json!({"message": 1, "publishAt": now - 6_000}),
            400,
            5030,
        ),
        case(
            "publishAt not a number",
            &publish,
            json!({"message": 1, "publishAt": "tomorrow"}),
            400,
            5030,
        ),
        case(
            "publishAt fractional",
            &publish,
            json!({"message": 1, "publishAt": 1.5}),
            400,
            5030,
        ),
        case(
            "repeatExpiresAt in the past",
            &publish,
            json!({"message": 1, "repeatEvery": 1, "repeatExpiresAt": now - 1_000}),
            400,
            5003,
        ),
        case(
            "repeatExpiresAt before publishAt",
            &publish,
            json!({"message": 1, "publishAt": now + 60_000, "repeatEvery": 1, "repeatExpiresAt": now + 30_000}),
            400,
            5003,
        ),
        case(
            "repeatExpiresAt not a number",
            &publish,
            json!({"message": 1, "repeatEvery": 1, "repeatExpiresAt": "x"}),
            400,
            5003,
        ),
        case(
            "repeatEvery negative",
            &publish,
            json!({"message": 1, "repeatEvery": -5}),
            400,
            9012,
        ),
        case(
            "repeatEvery not a number",
            &publish,
            json!({"message": 1, "repeatEvery": "5"}),
            400,
            9012,
        ),
        case(
            "push only",
            &publish,
            json!({"message": 1, "publishPolicy": "PUSH"}),
            400,
            9013,
        ),
        case(
            "selector that does not parse",
            &format!("{app}/messaging/news/subscribe"),
            json!({"selector": "foo = 'x' & age > 35"}),
            400,
            9021,
        ),
        case(
            "selector not a string",
            &format!("{app}/messaging/news/subscribe"),
            json!({"selector": 5}),
            400,
            9011,
        ),
    ];
    cases.push(Case {
        content_type: None,
        ..case(
            "no content type",
            &publish,
            json!({"message": 1}),
            415,
            9003,
        )
    });
    cases.push(Case {
        content_type: Some("text/plain"),
        ..case(
            "wrong content type",
            &publish,
            json!({"message": 1}),
            415,
            9003,
        )
    });
    cases.push(Case {
        body: b"{\"message\": ".to_vec(),
        ..case("malformed json", &publish, json!(null), 400, 9005)
    });
    cases.push(Case {
        body: format!("{{\"message\": \"{}\"}}", "x".repeat(1024 * 1024)).into_bytes(),
        ..case("body over the limit", &publish, json!(null), 413, 9004)
    });
    cases.push(Case {
        method: Method::GET,
        ..case(
            "unknown subscription",
            &format!("{app}/messaging/news/3f1c2a52-0000-4000-8000-000000000000"),
            json!(null),
            404,
            9020,
        )
    });
    cases.push(Case {
        method: Method::GET,
        ..case(
            "malformed subscription id",
            &format!("{app}/messaging/news/not-a-subscription"),
            json!(null),
            404,
            9020,
        )
    });
    cases.push(Case {
        method: Method::GET,
        ..case(
            "unknown route",
            &format!("{app}/nothing/here"),
            json!(null),
            404,
            9030,
        )
    });
    cases.push(Case {
        method: Method::PUT,
        ..case(
            "method not allowed",
            &publish,
            json!({"message": 1}),
            405,
            9031,
        )
    });
    cases
}

async fn every_bad_input_gets_its_documented_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut failures = Vec::new();
    for case in cases() {
        let (status, body) = case.send(&app.client).await;
        let ok = status == case.status
            && body["code"] == json!(case.code)
            && body["message"].as_str().is_some_and(|m| !m.is_empty());
        if !ok {
            failures.push(format!(
                "{}: expected {} {}, got {status} {body}",
                case.name, case.status, case.code
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad inputs answered wrongly:\n{}",
        failures.join("\n")
    );
}

async fn bad_input_never_reaches_the_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let subscription = app.client.subscribe("news").await;
    for case in cases() {
        case.send(&app.client).await;
    }
    // A good message published after all the bad ones is the only one the subscriber sees.
    let id = app
        .client
        .publish_ok("news", json!({"message": "good"}))
        .await;
    let seen = crate::support::poll_until(
        &app.client,
        "news",
        &subscription,
        1,
        std::time::Duration::from_secs(2),
    )
    .await;
    // Anything published by mistake would have been delivered before the good message.
    let more = app.client.poll_ok("news", &subscription).await;
    assert!(more.is_empty(), "{more:?}");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["messageId"], id);
}
