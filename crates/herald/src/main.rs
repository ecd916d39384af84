//! `herald [--config FILE] [ingest|scheduler|dispatcher|standalone]`: runs one role (standalone,
//! all of them, when none is named).

use clap::Parser;
use herald::{Application, Config, Role};
use herald_auth::settings::{DEV_API_KEY, DEV_APP_ID};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Backendless-compatible publish/subscribe messaging"
)]
struct Cli {
    /// A TOML configuration file (HERALD_* environment variables override it).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The role to run.
    #[arg(value_enum, default_value_t = Role::Standalone)]
    role: Role,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("herald: {err}");
            std::process::exit(2);
        }
    };
    let telemetry = herald_runtime::telemetry::init(&config.telemetry)?;
    if cli.role == Role::Ingest && config.realtime.public_url.is_none() {
        tracing::warn!(listen = %config.realtime.listen, "realtime.public_url is unset: GET .../info hands out realtime.listen as rtURL");
    }
    let in_memory = config.in_memory();
    let uses_dev_app = config.apps.is_empty();
    let app = Application::build(cli.role, config).await?;
    let url = format!("http://{}", app.address());
    println!("herald {} listening on {url}", cli.role);
    if let Some(realtime) = app.realtime_address() {
        println!("realtime (socket.io, for the Backendless SDKs) on http://{realtime}");
    }
    if uses_dev_app {
        println!("development app: id {DEV_APP_ID}, API key {DEV_API_KEY} ({url}/{DEV_APP_ID}/{DEV_API_KEY}/messaging/<channel>)");
    }
    if in_memory {
        println!("in-memory backends: herald keeps nothing on disk, and every message is gone when it stops");
    }
    let shutdown = herald_runtime::shutdown::on_signal();
    let stopped = app.run_until_stopped(shutdown).await;
    // Flushes the trace exporter, which exiting below would skip.
    drop(telemetry);
    if let Err(err) = stopped {
        // Already logged by the component's supervisor; said again where an operator looks first.
        eprintln!("herald: {err:#}");
        std::process::exit(1);
    }
    Ok(())
}
