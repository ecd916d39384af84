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
    /// What the process prints after its listening line (its log, at the level the env sets).
    output: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl HeraldProcess {
    /// Starts `herald role` with `env` (HERALD_* settings) and waits for its listening line.
    pub async fn start(role: &str, env: &HashMap<String, String>) -> Self {
        Self::start_with_args(&[role], env).await
    }

    /// Starts `herald <args>` with `env` and waits for its listening line.
    pub async fn start_with_args(args: &[&str], env: &HashMap<String, String>) -> Self {
        let role = args.join(" ");
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(args)
            .env_clear()
            .env("HERALD_HTTP__LISTEN", "127.0.0.1:0")
            .env("HERALD_REALTIME__LISTEN", "127.0.0.1:0")
            .env("HERALD_TELEMETRY__LOG_FILTER", "warn")
            .env("HERALD_TELEMETRY__LOG_FORMAT", "json")
            // After the defaults above, so a test may set any of them.
            .envs(env)
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
        let (sender, output) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(line);
            }
        });
        Self {
            address,
            child,
            output,
        }
    }

    /// Waits up to `deadline` for a line of output holding `needle`, and returns it.
    pub async fn line_containing(&mut self, needle: &str, deadline: std::time::Duration) -> String {
        tokio::time::timeout(deadline, async {
            while let Some(line) = self.output.recv().await {
                if line.contains(needle) {
                    return line;
                }
            }
            panic!("herald exited before printing {needle:?}");
        })
        .await
        .unwrap_or_else(|_| panic!("herald did not print {needle:?} within {deadline:?}"))
    }

    /// Sends `signal` (a name `kill` knows: HUP, TERM…).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {pid}");
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
