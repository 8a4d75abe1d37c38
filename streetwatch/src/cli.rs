//! Command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::schema::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "streetwatch", version, about = "Street-camera incident pipeline: ingest, detect, route")]
pub struct Cli {
    /// Log format; default from the config's service.log_format, else human.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter (e.g. `info`, `debug`, `streetwatch=debug,info`); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline.
    Run(ConfigArg),
    /// Check a config and its environment (model file and sha256, ONNX Runtime, broker) without running.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also check that the Kafka brokers answer and the configured topics exist.
    #[arg(long)]
    pub check_broker: bool,
    /// Timeout of the broker check; default router.kafka.probe_timeout_secs.
    #[arg(long)]
    pub broker_timeout_secs: Option<u64>,
    /// Skip loading ONNX Runtime and the model (config only).
    #[arg(long)]
    pub config_only: bool,
}
