//! `herald [--config FILE] [ingest|scheduler|dispatcher|standalone]`: runs one role (standalone,
//! all of them, when none is named); `herald token` mints a user token.

use clap::{Parser, Subcommand};
use herald::{Application, Config, Role};
use herald_auth::settings::{DEV_API_KEY, DEV_APP_ID};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Backendless-compatible publish/subscribe messaging"
)]
struct Cli {
    /// A TOML configuration file (HERALD_* environment variables override it).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The REST API: publish, status, cancel, polling subscriptions, app info.
    Ingest,
    /// Delayed and repeating delivery.
    Scheduler,
    /// Delivery to subscribers.
    Dispatcher,
    /// Every role in one process.
    Standalone,
    /// Prints a user token (HS256, signed with the app's first tokens.secrets entry).
    Token {
        /// The app the token is for.
        #[arg(long)]
        app: String,
        /// The user id (the token's user id claim, `sub` by default).
        #[arg(long)]
        user: String,
        /// A role of the user; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// How long the token is valid: 90, 90s, 15m, 12h or 30d.
        #[arg(long, default_value = "1h", value_parser = herald::token::parse_ttl)]
        ttl: Duration,
    },
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
    let role = match cli.command.unwrap_or(Command::Standalone) {
        Command::Ingest => Role::Ingest,
        Command::Scheduler => Role::Scheduler,
        Command::Dispatcher => Role::Dispatcher,
        Command::Standalone => Role::Standalone,
        Command::Token {
            app,
            user,
            roles,
            ttl,
        } => match herald::token::mint(&config, &app, &user, &roles, ttl) {
            Ok(token) => {
                println!("{token}");
                return Ok(());
            }
            Err(err) => {
                eprintln!("herald token: {err}");
                std::process::exit(2);
            }
        },
    };
    serve(role, config, cli.config).await
}

async fn serve(role: Role, config: Config, file: Option<PathBuf>) -> anyhow::Result<()> {
    let telemetry = herald_runtime::telemetry::init(&config.telemetry)?;
    if role == Role::Ingest && config.realtime.public_url.is_none() {
        tracing::warn!(listen = %config.realtime.listen, "realtime.public_url is unset: GET .../info hands out realtime.listen as rtURL");
    }
    let in_memory = config.in_memory();
    let uses_dev_app = config.apps.is_empty();
    let app = Application::build(role, config).await?;
    let url = format!("http://{}", app.address());
    println!("herald {role} listening on {url}");
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
    tokio::spawn(herald::reload::on_sighup(
        app.apps(),
        file,
        shutdown.clone(),
    ));
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
