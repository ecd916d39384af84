//! SIGHUP reloads the apps of a running process (a real child process, on both backends): a new
//! grant takes effect, and a configuration that does not validate changes nothing. The user token
//! is one `herald token` mints.

use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::cleanup::Cleanup;
use crate::support::process::{real_env, HeraldProcess};
use crate::support::security::SECRET;
use crate::support::{fresh_prefix, Backend, Client, API_KEY, APP_ID};

on_both_backends!(
    sighup_applies_a_new_grant_and_keeps_the_running_configuration_when_the_new_one_is_invalid
);

/// The test app, with editors allowed to publish to `orders.*`, plus `extra` lines.
fn config_file(extra: &str) -> String {
    format!(
        r#"
[[apps]]
id = "{APP_ID}"
api_key = "{API_KEY}"
[apps.tokens]
secrets = ["{SECRET}"]
[[apps.permissions]]
channel = "orders.*"
role = "editor"
grant = ["publish"]
{extra}
"#
    )
}

const PRIVATE_GRANT: &str = r#"
[[apps.permissions]]
channel = "private"
role = "editor"
grant = ["publish"]
"#;

async fn publish(client: &Client, channel: &str, user_token: &str) -> u16 {
    let request = client
        .raw()
        .post(client.app_url(&format!("/messaging/{channel}")))
        .header("user-token", user_token)
        .json(&json!({"message": "m"}));
    client.send(request).await.0
}

async fn sighup_applies_a_new_grant_and_keeps_the_running_configuration_when_the_new_one_is_invalid(
    backend: Backend,
) {
    let prefix = fresh_prefix();
    let _cleanup = (backend == Backend::Real).then(|| Cleanup::for_prefix(&prefix));
    let mut env: HashMap<String, String> = match backend {
        Backend::Real => real_env(&prefix),
        Backend::InMemory => HashMap::new(),
    };
    // The apps come from the file, which the environment would override.
    env.remove("HERALD_APPS");
    env.insert("HERALD_TELEMETRY__LOG_FILTER".into(), "info".into());
    let dir = std::env::temp_dir().join(format!("herald-reload-{prefix}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("herald.toml");
    std::fs::write(&file, config_file("")).unwrap();
    let path = file.to_str().unwrap();
    let mut process = HeraldProcess::start_with_args(&["--config", path, "standalone"], &env).await;
    let client = Client::new(process.address);
    client.wait_ready(Duration::from_secs(30)).await;
    // Minted by `herald token`, as an app without an identity provider does.
    let minted = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "--config", path, "token", "--app", APP_ID, "--user", "erin", "--role", "editor",
            "--ttl", "10m",
        ])
        .env_clear()
        .output()
        .expect("herald token runs");
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let editor = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    assert_eq!(publish(&client, "orders.eu", &editor).await, 200);
    assert_eq!(publish(&client, "private", &editor).await, 403);

    std::fs::write(&file, config_file(PRIVATE_GRANT)).unwrap();
    process.signal("HUP");
    process
        .line_containing("configuration reloaded", Duration::from_secs(10))
        .await;
    assert_eq!(publish(&client, "private", &editor).await, 200);

    // Invalid: a JWKS file that does not exist. Had it applied, orders.* would be closed too.
    let broken = config_file("").replace(
        &format!("secrets = [\"{SECRET}\"]"),
        &format!(
            "secrets = [\"{SECRET}\"]\njwks_files = [\"{}\"]",
            dir.join("missing.json").display()
        ),
    );
    std::fs::write(&file, broken.replace("orders.*", "nothing")).unwrap();
    process.signal("HUP");
    let refused = process
        .line_containing(
            "the new configuration is not applied",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        refused.contains("missing.json"),
        "the log names the file at fault: {refused}"
    );
    assert_eq!(publish(&client, "orders.eu", &editor).await, 200);
    assert_eq!(publish(&client, "private", &editor).await, 200);
    process.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
