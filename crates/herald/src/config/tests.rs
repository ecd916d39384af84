// figment::Jail closures must return figment::Result, whose error is large by figment's design.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;
use herald_auth::settings::DEV_APP_ID;
use secrecy::ExposeSecret;

#[test]
fn defaults_are_valid_and_in_memory() {
    let config = Config::defaults().unwrap();
    assert!(config.in_memory());
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.effective_apps()[0].id, DEV_APP_ID);
    assert_eq!(config.live.dedup_cap.get(), 1_000_000);
    assert_eq!(config.scheduler.lease, Duration::from_millis(10_000));
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        // Start from an environment without the caller's HERALD_* settings.
        jail.clear_env();
        jail.create_file(
            "herald.toml",
            "[http]\nlisten = \"127.0.0.1:9000\"\nbody_limit_bytes = 10\n",
        )?;
        jail.set_env("HERALD_HTTP__BODY_LIMIT_BYTES", "20");
        let config = Config::load(Some(Path::new("herald.toml"))).unwrap();
        assert_eq!(config.http.listen.port(), 9000);
        assert_eq!(config.http.body_limit_bytes.get(), 20);
        Ok(())
    });
}

#[test]
fn apps_can_come_from_one_environment_variable() {
    Jail::expect_with(|jail| {
        // Start from an environment without the caller's HERALD_* settings.
        jail.clear_env();
        jail.set_env("HERALD_AMQP__URL", "amqp://127.0.0.1:5672/%2f");
        jail.set_env("HERALD_REDIS__URL", "redis://127.0.0.1:6379");
        jail.set_env("HERALD_APPS", "[{id=\"A1\",api_key=\"K1\"}]");
        let config = Config::load(None).unwrap();
        assert_eq!(config.apps.len(), 1);
        assert_eq!(
            config.apps[0].api_key.as_ref().unwrap().expose_secret(),
            "K1"
        );
        Ok(())
    });
}

#[test]
fn errors_name_the_field() {
    Jail::expect_with(|jail| {
        // Start from an environment without the caller's HERALD_* settings.
        jail.clear_env();
        jail.set_env("HERALD_AMQP__PREFETCH", "0");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("amqp.prefetch"), "{err}");
        jail.set_env("HERALD_AMQP__PREFETCH", "lots");
        let err = Config::load(None).unwrap_err().to_string().to_lowercase();
        assert!(err.contains("amqp.prefetch"), "{err}");
        Ok(())
    });
}

#[test]
fn a_value_below_its_minimum_names_the_field_and_the_minimum() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("HERALD_SCHEDULER__LEASE_MS", "50");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("scheduler.lease_ms: must be at least 100"),
            "{err}"
        );
        jail.set_env("HERALD_SCHEDULER__LEASE_MS", "1000");
        jail.set_env("HERALD_LIVE__DEDUP_CAP", "0");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("live.dedup_cap"), "{err}");
        Ok(())
    });
}

#[test]
fn tls_urls_are_refused_at_startup_naming_the_field() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("HERALD_AMQP__URL", "amqps://127.0.0.1:5671/%2f");
        jail.set_env("HERALD_REDIS__URL", "redis://127.0.0.1:6379");
        jail.set_env("HERALD_APPS", "[{id=\"A1\",api_key=\"K1\"}]");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("amqp.url: TLS to RabbitMQ is not supported yet"),
            "{err}"
        );
        jail.set_env("HERALD_AMQP__URL", "amqp://127.0.0.1:5672/%2f");
        jail.set_env("HERALD_REDIS__URL", "rediss://127.0.0.1:6380");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("redis.url: TLS to Redis is not supported yet"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn real_backends_need_apps_and_each_other() {
    Jail::expect_with(|jail| {
        // Start from an environment without the caller's HERALD_* settings.
        jail.clear_env();
        jail.set_env("HERALD_AMQP__URL", "amqp://127.0.0.1:5672/%2f");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("redis.url"), "{err}");
        jail.set_env("HERALD_REDIS__URL", "redis://127.0.0.1:6379");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("apps"), "{err}");
        Ok(())
    });
}

#[test]
fn missing_config_file_is_an_error() {
    let err = Config::load(Some(Path::new("/nonexistent/herald.toml"))).unwrap_err();
    assert!(matches!(err, ConfigError::MissingFile(_)));
}

#[test]
fn the_example_of_docs_security_loads_and_decides_as_it_says() {
    let docs = include_str!("../../../../docs/security.md");
    let example = docs
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/security.md has a TOML example");
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file("herald.toml", example)?;
        let config = Config::load(Some(Path::new("herald.toml"))).unwrap();
        let registry = config.app_registry().unwrap();
        let shop = registry.by_path("shop", "shop-js-key").unwrap();
        assert_eq!(&*shop.key_role, "JSUser");
        let app = shop.app;
        let as_user = |id: &str, roles: &[&str]| {
            herald_auth::Caller::new(
                "RestUser",
                Some(herald_auth::User {
                    id: id.into(),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                }),
            )
        };
        let anonymous = herald_auth::Caller::new("RestUser", None);
        let publish = herald_auth::Operation::Publish;
        assert!(app.authorize(&anonymous, publish, "news").is_ok());
        assert!(app
            .authorize(&as_user("erin", &["editor"]), publish, "orders.eu")
            .is_ok());
        assert!(app
            .authorize(&as_user("vic", &["viewer"]), publish, "orders.eu")
            .is_err());
        assert!(app
            .authorize(&as_user("mallory", &["editor"]), publish, "orders.eu")
            .is_err());
        assert!(app
            .authorize(&as_user("erin", &["editor"]), publish, "private")
            .is_err());
        assert!(
            app.allows_origin("https://shop.example") && !app.allows_origin("https://evil.example")
        );
        Ok(())
    });
}
