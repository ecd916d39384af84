//! herald as a real child process, for the tests that need several processes on one broker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The HERALD_* environment of a process on the real RabbitMQ and Redis, under `prefix`, serving
/// the test app.
pub fn real_env(prefix: &str) -> HashMap<String, String> {
    use secrecy::ExposeSecret;
    let (amqp, redis) = super::real_urls();
    [
        ("HERALD_AMQP__URL", amqp.expose_secret().to_string()),
        ("HERALD_REDIS__URL", redis.expose_secret().to_string()),
        ("HERALD_AMQP__PREFIX", prefix.to_string()),
        ("HERALD_REDIS__KEY_PREFIX", prefix.to_string()),
        (
            "HERALD_APPS",
            format!(
                "[{{id=\"{}\",api_key=\"{}\"}}]",
                super::APP_ID,
                super::API_KEY
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A running `herald <role>` process, killed when dropped.
pub struct HeraldProcess {
    pub address: SocketAddr,
    child: Child,
}

impl HeraldProcess {
    /// Starts `herald role` with `env` (HERALD_* settings) and waits for its listening line.
    pub async fn start(role: &str, env: &HashMap<String, String>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg(role)
            .env_clear()
            .envs(env)
            .env("HERALD_HTTP__LISTEN", "127.0.0.1:0")
            .env("HERALD_REALTIME__LISTEN", "127.0.0.1:0")
            .env("HERALD_TELEMETRY__LOG_FILTER", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("herald starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.split("listening on http://").nth(1) {
                    return url.trim().parse::<SocketAddr>().unwrap();
                }
            }
            panic!("herald {role} exited before listening");
        })
        .await
        .expect("herald prints its address");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { address, child }
    }

    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }

    /// Sends SIGTERM, as an orchestrator does, and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().await.expect("herald exits")
    }
}
