//! `gateway [--config PATH] [serve|migrate|config]`

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gateway::{open_store, telemetry, Application, Settings};
use signup_core::outbox;

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
    /// Inspect and revive outbox rows (mails and webhooks).
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List undelivered rows (pending and dead), oldest first.
    List {
        /// Only the rows that gave up (`dead`).
        #[arg(long)]
        dead: bool,
    },
    /// Put a dead row, or every dead row, back in the queue.
    Retry {
        /// The row's id (see `outbox list`).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Every dead row.
        #[arg(long)]
        all_dead: bool,
    },
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
        Command::Outbox(command) => {
            let store = open_store(&settings).await?;
            match command {
                OutboxCommand::List { dead } => {
                    let rows = outbox::list(&store, dead).await?;
                    println!(
                        "{:<36}  {:<7}  {:<7}  {:>8}  {:<20}  {:<40}  last error",
                        "id", "kind", "status", "attempts", "next attempt (UTC)", "target"
                    );
                    for row in &rows {
                        println!(
                            "{:<36}  {:<7}  {:<7}  {:>8}  {:<20}  {:<40}  {}",
                            row.id,
                            row.kind,
                            row.status,
                            row.attempts,
                            row.next_attempt_at.format("%Y-%m-%d %H:%M:%S"),
                            row.target,
                            row.last_error.as_deref().unwrap_or("-"),
                        );
                    }
                    println!("{} row(s)", rows.len());
                }
                OutboxCommand::Retry { id, all_dead } => {
                    let revived =
                        outbox::retry(&store, if all_dead { None } else { id.as_deref() }).await?;
                    if revived == 0 && !all_dead {
                        anyhow::bail!("no dead outbox row with id {}", id.unwrap_or_default());
                    }
                    println!("{revived} row(s) queued again");
                }
            }
            Ok(())
        }
    }
}
