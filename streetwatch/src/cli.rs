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
    /// Serve RTSP test cameras on 127.0.0.1 (looped H.264 file or pattern), with faults from stdin.
    TestCameras(TestCamerasArgs),
    /// Measure ingest CPU and memory per camera, keyframes vs all decode (see BENCHMARKS.md).
    BenchIngest(BenchIngestArgs),
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    #[arg(long, default_value_t = 4)]
    pub cameras: usize,
    /// Measured seconds per mode.
    #[arg(long, default_value_t = 20)]
    pub secs: u64,
    /// Seconds of streaming before measuring (fills the 10 s pre-roll).
    #[arg(long, default_value_t = 12)]
    pub warmup_secs: u64,
    /// H.264 byte-stream served by every test camera.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/footage/vtest-1080p25.h264", value_parser = expand_path)]
    pub footage: PathBuf,
    #[arg(long, default_value_t = 25)]
    pub fps: u32,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Decode modes to measure, in order. Memory is only meaningful for the first
    /// (freed memory is not returned to the OS between modes).
    #[arg(long, value_delimiter = ',', default_value = "keyframes,all")]
    pub modes: Vec<String>,
}

fn expand_path(s: &str) -> Result<PathBuf, String> {
    crate::config::expand_env(s, "--footage").map(PathBuf::from).map_err(|e| e.message)
}

#[derive(Debug, Args)]
pub struct TestCamerasArgs {
    /// Port (0: any free port; the URLs are printed).
    #[arg(long, default_value_t = 8554)]
    pub port: u16,
    /// Number of cameras, served as /cam1 ... /camN.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Pre-encoded H.264 byte-stream file, looped without re-encoding; default: a synthetic pattern.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Frame rate of the file or pattern.
    #[arg(long, default_value_t = 10)]
    pub fps: u32,
    /// Pattern name (videotestsrc: ball, smpte, snow, ...).
    #[arg(long, default_value = "ball")]
    pub pattern: String,
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
    /// Pattern keyframe interval in frames; default 2 s.
    #[arg(long)]
    pub keyframe_interval: Option<u32>,
    /// Mount paths that require STREETWATCH_TEST_USER / STREETWATCH_TEST_PASSWORD.
    #[arg(long)]
    pub protect: Vec<String>,
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
