use super::*;
use crate::settings::PublicKeyConfig;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::json;
use std::path::PathBuf;

const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn hs(claims: Value, secret: &str) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn signed(claims: Value, alg: Algorithm, kid: Option<&str>, private: &str) -> String {
    let pem = std::fs::read(fixture(private)).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(Into::into);
    encode(&header, &claims, &key).unwrap()
}

fn settings() -> TokenSettings {
    TokenSettings {
        secrets: vec![SecretString::from(SECRET)],
        ..TokenSettings::default()
    }
}

fn verifier(settings: &TokenSettings) -> TokenVerifier {
    TokenVerifier::build(settings).unwrap()
}

fn refusal(verifier: &TokenVerifier, token: &str) -> String {
    let err = verifier.verify(token).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidUserToken);
    err.message
}

#[test]
fn a_good_token_names_its_user_and_roles() {
    let token = hs(
        json!({"sub": "u1", "roles": ["editor"], "exp": now() + 60}),
        SECRET,
    );
    let user = verifier(&settings()).verify(&token).unwrap();
    assert_eq!(
        user,
        User {
            id: "u1".into(),
            roles: vec!["editor".into()]
        }
    );
}

#[test]
fn the_claim_names_are_configurable() {
    let mut settings = settings();
    settings.user_id_claim = "uid".into();
    settings.roles_claim = "groups".into();
    let token = hs(
        json!({"uid": "u2", "groups": ["a", "b"], "sub": "other", "exp": now() + 60}),
        SECRET,
    );
    let user = verifier(&settings).verify(&token).unwrap();
    assert_eq!(
        user,
        User {
            id: "u2".into(),
            roles: vec!["a".into(), "b".into()]
        }
    );
}

#[test]
fn each_bad_token_is_refused_saying_why() {
    let mut settings = settings();
    settings.audience = Some("herald".into());
    settings.issuer = Some("https://id.example".into());
    settings.leeway = std::time::Duration::from_secs(5);
    let v = verifier(&settings);
    let good = json!({"sub": "u", "exp": now() + 60, "aud": "herald", "iss": "https://id.example"});
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        hs(claims, SECRET)
    };
    assert!(v.verify(&hs(good.clone(), SECRET)).is_ok());
    assert!(refusal(&v, &with("exp", json!(now() - 60))).contains("is expired"));
    assert!(
        v.verify(&with("exp", json!(now() - 2))).is_ok(),
        "within the leeway"
    );
    assert!(refusal(&v, &with("nbf", json!(now() + 60))).contains("not valid yet"));
    assert!(refusal(&v, &with("aud", json!("other"))).contains("another audience"));
    assert!(refusal(&v, &with("iss", json!("https://evil.example"))).contains("another issuer"));
    assert!(refusal(
        &v,
        &hs(good.clone(), "another-secret-that-is-at-least-32-bytes")
    )
    .contains("badly signed"));
    assert!(refusal(&v, "not.a.token").contains("malformed"));
    assert!(refusal(&v, "garbage").contains("malformed"));
    assert!(refusal(&v, &with("sub", json!(42))).contains("no user id"));
    assert!(refusal(&v, &with("roles", json!("admin"))).contains("not an array of strings"));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(refusal(&v, &hs(no_exp, SECRET)).contains("has no exp claim"));
}

#[test]
fn two_secrets_are_valid_at_once_for_rotation() {
    let old = "the-old-secret-that-is-at-least-32-bytes";
    let mut settings = settings();
    settings.secrets.push(SecretString::from(old));
    let v = verifier(&settings);
    let claims = json!({"sub": "u", "exp": now() + 60});
    assert!(v.verify(&hs(claims.clone(), SECRET)).is_ok());
    assert!(v.verify(&hs(claims, old)).is_ok());
}

#[test]
fn jwks_keys_verify_by_kid() {
    let settings = TokenSettings {
        jwks_files: vec![fixture("jwks.json")],
        ..TokenSettings::default()
    };
    let v = verifier(&settings);
    let claims = json!({"sub": "u", "exp": now() + 60});
    for kid in ["es-1", "es-2"] {
        let token = signed(
            claims.clone(),
            Algorithm::ES256,
            Some(kid),
            &format!("{kid}.private.pem"),
        );
        assert!(v.verify(&token).is_ok(), "{kid}");
    }
    let rs = signed(
        claims.clone(),
        Algorithm::RS256,
        Some("rs-1"),
        "rs-1.private.pem",
    );
    assert!(v.verify(&rs).is_ok());
    let swapped = signed(
        claims.clone(),
        Algorithm::ES256,
        Some("es-2"),
        "es-1.private.pem",
    );
    assert!(refusal(&v, &swapped).contains("badly signed"));
    let unknown = signed(
        claims.clone(),
        Algorithm::ES256,
        Some("es-9"),
        "es-unknown.private.pem",
    );
    assert!(refusal(&v, &unknown).contains("no key of the application"));
    let hs_token = hs(claims, SECRET);
    assert!(
        refusal(&v, &hs_token).contains("HS256"),
        "a JWKS-only app has no HS256 secret"
    );
}

#[test]
fn a_pem_key_verifies_its_algorithm_only() {
    let settings = TokenSettings {
        public_keys: vec![PublicKeyConfig {
            file: fixture("rs-1.public.pem"),
            algorithm: "RS256".into(),
            kid: None,
        }],
        ..TokenSettings::default()
    };
    let v = verifier(&settings);
    let claims = json!({"sub": "u", "exp": now() + 60});
    assert!(v
        .verify(&signed(
            claims.clone(),
            Algorithm::RS256,
            None,
            "rs-1.private.pem"
        ))
        .is_ok());
    assert!(refusal(
        &v,
        &signed(claims, Algorithm::ES256, None, "es-1.private.pem")
    )
    .contains("ES256"));
}

#[test]
fn unusable_key_settings_are_refused_naming_the_file() {
    let short = TokenSettings {
        secrets: vec![SecretString::from("short")],
        ..TokenSettings::default()
    };
    assert!(TokenVerifier::build(&short)
        .err()
        .unwrap()
        .contains("at least 32 bytes"));
    let missing = TokenSettings {
        jwks_files: vec![fixture("nope.json")],
        ..TokenSettings::default()
    };
    assert!(TokenVerifier::build(&missing)
        .err()
        .unwrap()
        .contains("nope.json"));
    let wrong_kind = TokenSettings {
        public_keys: vec![PublicKeyConfig {
            file: fixture("rs-1.public.pem"),
            algorithm: "ES256".into(),
            kid: None,
        }],
        ..TokenSettings::default()
    };
    assert!(TokenVerifier::build(&wrong_kind)
        .err()
        .unwrap()
        .contains("not a ES256 public key"));
    let not_public = TokenSettings {
        public_keys: vec![PublicKeyConfig {
            file: fixture("rs-1.public.pem"),
            algorithm: "HS256".into(),
            kid: None,
        }],
        ..TokenSettings::default()
    };
    assert!(TokenVerifier::build(&not_public)
        .err()
        .unwrap()
        .contains("not a public-key algorithm"));
}

#[test]
fn minted_tokens_verify() {
    let mut settings = settings();
    settings.audience = Some("herald".into());
    let token = crate::mint::mint(
        &settings,
        "u9",
        &["viewer".into()],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let user = verifier(&settings).verify(&token).unwrap();
    assert_eq!(
        user,
        User {
            id: "u9".into(),
            roles: vec!["viewer".into()]
        }
    );
}
