//! User tokens of an identity provider: ES256 and RS256 keys from a JWKS file, picked by `kid`,
//! two of them valid side by side (a rotation), and the audience and issuer checks.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::PathBuf;

use crate::on_both_backends;
use crate::support::{fresh_prefix, test_config, Backend, TestApp};
use herald::Role;

on_both_backends!(
    tokens_verify_with_the_jwks_key_their_kid_names,
    a_token_for_another_audience_or_issuer_is_refused_with_3064,
);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../herald-auth/fixtures")
        .join(name)
}

fn signed(claims: &Value, alg: Algorithm, kid: &str, private: &str) -> String {
    let pem = std::fs::read(fixture(private)).expect("fixture key");
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    encode(&header, claims, &key).unwrap()
}

/// The test app with tokens from the fixture JWKS (es-1, es-2, rs-1), for `audience` of `issuer`.
async fn spawn(backend: Backend) -> TestApp {
    let mut config = test_config(backend, &fresh_prefix());
    let tokens = &mut config.apps[0].tokens;
    tokens.jwks_files = vec![fixture("jwks.json")];
    tokens.audience = Some("herald".into());
    tokens.issuer = Some("https://id.example".into());
    // Without permissions every operation is granted: these tests are about the token alone.
    TestApp::spawn_with(Role::Standalone, config).await
}

fn claims() -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({"sub": "u1", "exp": now + 600, "aud": "herald", "iss": "https://id.example"})
}

async fn publish_with(app: &TestApp, user_token: &str) -> (u16, Value) {
    let request = app
        .client
        .raw()
        .post(app.client.app_url("/messaging/news"))
        .header("user-token", user_token)
        .json(&json!({"message": "m"}));
    app.client.send(request).await
}

async fn tokens_verify_with_the_jwks_key_their_kid_names(backend: Backend) {
    let app = spawn(backend).await;
    let claims = claims();
    for (alg, kid) in [
        (Algorithm::ES256, "es-1"),
        (Algorithm::ES256, "es-2"),
        (Algorithm::RS256, "rs-1"),
    ] {
        let token = signed(&claims, alg, kid, &format!("{kid}.private.pem"));
        let (status, body) = publish_with(&app, &token).await;
        assert_eq!(status, 200, "{kid}: {body}");
    }
    // es-1's signature under es-2's name, and a key the app does not know.
    for (kid, private, why) in [
        ("es-2", "es-1.private.pem", "badly signed"),
        (
            "es-9",
            "es-unknown.private.pem",
            "no key of the application",
        ),
    ] {
        let (status, body) =
            publish_with(&app, &signed(&claims, Algorithm::ES256, kid, private)).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (401, Some(3064)),
            "{kid}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{kid}: {body}"
        );
    }
}

async fn a_token_for_another_audience_or_issuer_is_refused_with_3064(backend: Backend) {
    let app = spawn(backend).await;
    for (field, value, why) in [
        ("aud", "another-service", "another audience"),
        ("iss", "https://evil.example", "another issuer"),
    ] {
        let mut claims = claims();
        claims[field] = json!(value);
        let token = signed(&claims, Algorithm::ES256, "es-1", "es-1.private.pem");
        let (status, body) = publish_with(&app, &token).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (401, Some(3064)),
            "{field}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{field}: {body}"
        );
    }
}
