//! streetwatch: the binary that wires ingest, detector and router together.

use streetwatch::cli::{Cli, Command};
use streetwatch::config::schema::LogFormat;
use streetwatch::{commands, config, exit_code, telemetry};

fn main() {
    streetwatch::process::run_and_exit("streetwatch", dispatch)
}

/// Loads a long-running command's config (every error printed) and starts logging
/// in the config's format unless the command line chose one.
fn load_config(path: &std::path::Path, log_format: Option<LogFormat>, log_level: &str) -> Option<config::Config> {
    match config::load(path) {
        Ok(c) => {
            telemetry::logging::init(log_format.unwrap_or(c.service.log_format), log_level);
            Some(c)
        }
        Err(errors) => {
            eprintln!("{errors}");
            None
        }
    }
}

async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Validate(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::validate::validate(&args).await
        }
        Command::Replay(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::replay::replay(&args).await
        }
        Command::ConsoleUser(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            tokio::task::spawn_blocking(move || commands::console_user::console_user(&args))
                .await
                .unwrap_or(exit_code::RUNTIME_FAILURE)
        }
        Command::Worker(args) => {
            let Some(config) = load_config(&args.config, cli.log_format, &cli.log_level) else {
                return exit_code::CONFIG_INVALID;
            };
            commands::worker::worker(&args.config, config).await
        }
        Command::Console(args) => {
            let Some(config) = load_config(&args.config, cli.log_format, &cli.log_level) else {
                return exit_code::CONFIG_INVALID;
            };
            match commands::shared_console::console(&args.config, config).await {
                Ok(code) => code,
                Err(e) => {
                    tracing::error!("{e:#}");
                    exit_code::RUNTIME_FAILURE
                }
            }
        }
        Command::Assign(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::assign::assign(&args).await
        }
        Command::Run(args) => {
            let loaded = match &args.cameras_file {
                Some(cameras) => config::load_with_cameras(&args.config, cameras),
                None => config::load(&args.config),
            };
            let mut config = match loaded {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}");
                    return exit_code::CONFIG_INVALID;
                }
            };
            if let Some(listen) = args.http_listen {
                config.http_listen = Some(listen);
            }
            telemetry::logging::init(cli.log_format.unwrap_or(config.service.log_format), &cli.log_level);
            let control = args.cameras_control.then(|| args.cameras_file.clone().map(|f| (args.config.clone(), f)));
            let options = commands::run::RunOptions {
                stop: args.exit_with_parent.then(commands::run::stop_when_parent_exits),
                control: control.flatten(),
                ..Default::default()
            };
            match commands::run::run_with(config, options).await {
                Ok(code) => code,
                Err(e) => {
                    tracing::error!("{e:#}");
                    exit_code::RUNTIME_FAILURE
                }
            }
        }
    }
}
