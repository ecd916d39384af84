use super::*;
use crate::settings::KeyConfig;
use secrecy::SecretString;

fn app(id: &str, key: &str, domains: &[&str]) -> AppConfig {
    let mut config = AppConfig::with_key(id, key);
    config.domains = domains.iter().map(|d| d.to_string()).collect();
    config
}

#[test]
fn path_form_checks_id_then_key() {
    let apps = AppRegistry::build(&[app("A1", "k1", &[])], false).unwrap();
    assert_eq!(apps.by_path("a1", "k1").unwrap().app.id, "A1");
    assert_eq!(
        apps.by_path("nope", "k1").unwrap_err().kind,
        ErrorKind::UnknownApplication
    );
    for wrong in ["k2", "k", "k1k1", ""] {
        assert_eq!(
            apps.by_path("A1", wrong).unwrap_err().kind,
            ErrorKind::InvalidApiKey
        );
    }
}

#[test]
fn each_key_has_its_role_and_two_keys_are_valid_at_once() {
    let mut config = app("A1", "rest", &[]);
    config.keys = vec![KeyConfig {
        key: SecretString::from("js"),
        role: "JSUser".into(),
    }];
    let apps = AppRegistry::build(&[config], false).unwrap();
    assert_eq!(&*apps.by_path("A1", "rest").unwrap().key_role, "RestUser");
    assert_eq!(&*apps.by_path("A1", "js").unwrap().key_role, "JSUser");
}

#[test]
fn host_form_uses_domains_and_falls_back_only_in_development() {
    let configs = [
        app("A1", "k1", &["one.example"]),
        app("A2", "k2", &["two.example"]),
    ];
    let two = AppRegistry::build(&configs, false).unwrap();
    assert_eq!(two.by_host(Some("TWO.example:8080")).unwrap().app.id, "A2");
    assert_eq!(
        two.by_host(Some("other")).unwrap_err().kind,
        ErrorKind::UnknownApplication
    );
    let production = AppRegistry::build(&[app("A1", "k1", &[])], false).unwrap();
    assert_eq!(
        production.by_host(Some("localhost:8080")).unwrap_err().kind,
        ErrorKind::UnknownApplication
    );
    let development = AppRegistry::build(&[app("A1", "k1", &[])], true).unwrap();
    assert_eq!(
        development.by_host(Some("localhost:8080")).unwrap().app.id,
        "A1"
    );
    assert_eq!(development.by_host(None).unwrap().app.id, "A1");
}

#[test]
fn an_app_or_a_domain_configured_twice_is_refused() {
    let err = AppRegistry::build(&[app("A1", "k", &[]), app("a1", "k", &[])], false).unwrap_err();
    assert!(err.to_string().contains("configured twice"), "{err}");
    let err =
        AppRegistry::build(&[app("A1", "k", &["d"]), app("A2", "k", &["D"])], false).unwrap_err();
    assert!(
        err.to_string()
            .contains("domain D is listed by apps A1 and A2"),
        "{err}"
    );
}

#[test]
fn app_ids_with_a_key_separator_or_whitespace_are_refused() {
    for id in ["a:b", "a{b", "a}b", "a b", "a/b", "", "api"] {
        let parsed: Result<AppConfig, _> =
            serde_json::from_value(serde_json::json!({"id": id, "api_key": "k"}));
        assert!(parsed.is_err(), "{id:?} was accepted");
    }
}

#[test]
fn strips_ports_but_not_ipv6() {
    assert_eq!(strip_port("example.com:80"), "example.com");
    assert_eq!(strip_port("example.com"), "example.com");
    assert_eq!(strip_port("[::1]:8080"), "[::1]");
    assert_eq!(strip_port("[::1]"), "[::1]");
}
