//! `gateway [--config PATH] [serve|migrate|config]`

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gateway::{open_store, telemetry, Application, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "gateway",
    version,
    about = "signup-gateway: five sign-up APIs over one account core"
)]
struct Cli {
    /// TOML configuration file (also: SIGNUP_CONFIG). Environment variables SIGNUP__SECTION__KEY override it.
    #[arg(long, global = true, env = "SIGNUP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every enabled flavour (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets masked.
    Config,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "gateway failed");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.server.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate => {
            let mut settings = settings;
            settings.database.run_migrations = true;
            let store = open_store(&settings).await?;
            println!("migrations applied ({})", store.backend().name());
            Ok(())
        }
        Command::Config => {
            print!("{}", settings.to_masked_toml()?);
            Ok(())
        }
    }
}
