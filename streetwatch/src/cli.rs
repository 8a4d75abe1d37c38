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
    Run(RunArgs),
    /// Run as one of several workers: take cameras from the Kafka assignment topic
    /// (`[cluster]`), sharing them with the other workers of the group.
    Worker(ConfigArg),
    /// Publish the config's cameras to the assignment topic (added, changed, removed).
    Assign(AssignArgs),
    /// Serve the shared operator console of a cluster: incidents, decisions and camera
    /// status read from Kafka (`[console]`, `[console.shared]`).
    Console(ConfigArg),
    /// Check a config and its environment (model file and sha256, ONNX Runtime, broker) without running.
    Validate(ValidateArgs),
    /// Run the pipeline over a recorded file as fast as possible; incidents as JSON lines.
    Replay(ReplayArgs),
    /// Add a console account or change its role and password (read from stdin).
    ConsoleUser(ConsoleUserArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Take the `[[cameras]]` from this file instead (a worker's share).
    #[arg(long, hide = true)]
    pub cameras_file: Option<PathBuf>,
    /// Stop (gracefully) when the parent process goes away (a worker's pipeline).
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
    /// Take camera changes on stdin while running (a worker's pipeline; needs
    /// `--cameras-file`).
    #[arg(long, hide = true, requires = "cameras_file")]
    pub cameras_control: bool,
    /// Serve health and metrics here instead of `http.listen` (a worker's pipeline).
    #[arg(long, hide = true)]
    pub http_listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The config whose cameras are published (and whose `[cluster]` names the topic).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Say what would change, publish nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ConsoleUserArgs {
    /// The users file (created when missing; `console.users_file` in the config).
    #[arg(long)]
    pub users_file: PathBuf,
    #[arg(long)]
    pub name: String,
    /// viewer (watch), operator (also acknowledge/dismiss/resolve), admin (also the audit log).
    #[arg(long, value_parser = ["viewer", "operator", "admin"])]
    pub role: String,
    /// Limit the account to these sites (repeat the flag); with --grid, either matches.
    #[arg(long = "site")]
    pub sites: Vec<String>,
    /// Limit the account to these grids (repeat the flag).
    #[arg(long = "grid")]
    pub grids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recorded video (mp4, mkv, H.264 or H.265 elementary stream).
    pub input: PathBuf,
    /// The config whose camera (zones, masks, decode mode), rules and model are used.
    #[arg(long)]
    pub config: PathBuf,
    /// Which camera of the config the footage is from (needed when it has several).
    #[arg(long)]
    pub camera: Option<String>,
    /// Output directory: `events/incidents.jsonl`, `evidence/` snapshots.
    #[arg(long, default_value = "replay-out")]
    pub out: PathBuf,
    /// Replace what a previous replay left in `--out`.
    #[arg(long)]
    pub overwrite: bool,
    /// Also write `annotated/<camera>.mp4`: every analysed frame with boxes, track
    /// ids, zones and the open incidents.
    #[arg(long)]
    pub annotate: bool,
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
