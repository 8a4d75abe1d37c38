//! The command line of `streetwatch-bench`: the benchmarks and test tools, apart
//! from the operator's `streetwatch`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use streetwatch::config::schema::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "streetwatch-bench",
    version,
    about = "streetwatch's benchmarks and test tools (test cameras, soak, fuzz); the pipeline itself is `streetwatch`"
)]
pub struct Cli {
    /// Log format (human or json).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter for the tools that log (test cameras); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve RTSP test cameras on 127.0.0.1 (looped H.264 file or pattern), with faults from stdin.
    TestCameras(TestCamerasArgs),
    /// Measure ingest CPU and memory per camera, keyframes vs all decode (see BENCHMARKS.md).
    BenchIngest(BenchIngestArgs),
    /// Benchmark the detector: per-frame breakdown and throughput against ONNX Runtime alone.
    BenchDetector(BenchDetectorArgs),
    /// Benchmark the router: events per second to a real broker (protobuf), outbox write latency.
    BenchRouter(BenchRouterArgs),
    /// The whole pipeline end to end: N 1080p25 test cameras, a broker, `run`;
    /// analysis fps, drops, CPU, RSS, frame → Kafka latency (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// Benchmark the console: feed pages, filters, detail and live-feed latency over
    /// HTTP with many stored incidents.
    BenchConsole(BenchConsoleArgs),
    /// Benchmark a worker's death in a cluster, per rebalance protocol: how long until
    /// its cameras are analysed again, and the pause of the cameras that did not move.
    BenchRebalance(BenchRebalanceArgs),
    /// Run the pipeline for a long time under faults (stalled and restarted cameras, a
    /// stopped broker, console clients) and report memory, descriptors, threads and
    /// outbox size over time, and whether every incident reached the topic.
    Soak(SoakArgs),
    /// Feed every parser of outside input mutated inputs (NAL units, outbox records,
    /// configs, camera URLs, assignment records, console bodies); findings are saved.
    Fuzz(FuzzArgs),
}

#[derive(Debug, Clone, Args)]
pub struct FuzzArgs {
    /// Targets to fuzz (default: all): nal, outbox, config, camera-url, assignment, console.
    pub targets: Vec<String>,
    /// Inputs per target.
    #[arg(long, default_value_t = 1_000_000)]
    pub runs: u64,
    /// The random generator's seed: the same seed gives the same inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where inputs that found something are saved.
    #[arg(long, default_value = "fuzz-findings")]
    pub findings: PathBuf,
    /// H.264 byte-stream whose first bytes seed the `nal` target.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/footage/vtest.h264", value_parser = expand_path)]
    pub footage: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Wall-clock minutes to run (the faults repeat throughout).
    #[arg(long, default_value_t = 60)]
    pub minutes: u64,
    #[arg(long, default_value_t = 12)]
    pub cameras: usize,
    /// Seconds between two samples of the process.
    #[arg(long, default_value_t = 30)]
    pub sample_secs: u64,
    /// Seconds between the start of two faults (they take turns: camera stalled,
    /// camera server killed and restarted, broker stopped and restarted).
    #[arg(long, default_value_t = 120)]
    pub fault_every_secs: u64,
    /// How long a fault lasts before it is undone.
    #[arg(long, default_value_t = 30)]
    pub fault_secs: u64,
    /// Console clients logged in and polling the incident list and cameras.
    #[arg(long, default_value_t = 2)]
    pub console_clients: usize,
    #[arg(long, default_value = "models/yolov3-tiny-416-int8.toml")]
    pub model: PathBuf,
    /// H.264 byte-stream served by every test camera.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/footage/vtest.h264", value_parser = expand_path)]
    pub footage: PathBuf,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/bin/tansu", value_parser = expand_tansu)]
    pub tansu: PathBuf,
    /// Keep the config, run's log and data here instead of a temporary folder.
    #[arg(long)]
    pub keep_logs: Option<PathBuf>,
    /// Also write the samples and the summary as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchRebalanceArgs {
    #[arg(long, default_value_t = 12)]
    pub cameras: usize,
    #[arg(long, default_value_t = 3)]
    pub workers: usize,
    /// Partitions of the assignment topic.
    #[arg(long, default_value_t = 12)]
    pub partitions: i32,
    /// `[cluster] rebalance` values to measure, in order.
    #[arg(long, value_delimiter = ',', default_value = "eager,cooperative")]
    pub protocols: Vec<String>,
    #[arg(long, default_value_t = 10)]
    pub session_timeout_secs: u64,
    /// Analysed frames per second per camera (`decode = "sampled"`): the resolution
    /// of the measured pause.
    #[arg(long, default_value_t = 2.0)]
    pub sample_fps: f64,
    #[arg(long, default_value = "models/yolov3-tiny-416.toml")]
    pub model: PathBuf,
    /// H.264 byte-stream served by every test camera.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/footage/vtest.h264", value_parser = expand_path)]
    pub footage: PathBuf,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/bin/tansu", value_parser = expand_tansu)]
    pub tansu: PathBuf,
    /// Keep the workers' config, logs and data here (`<dir>/<protocol>/`).
    #[arg(long)]
    pub keep_logs: Option<PathBuf>,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Camera counts to measure (with --sweep: the first is where the sweep starts).
    #[arg(long, value_delimiter = ',', default_value = "4")]
    pub cameras: Vec<usize>,
    /// Find, per mode, the largest camera count that holds the targets (doubling,
    /// then halving the gap down to --sweep-resolution cameras).
    #[arg(long)]
    pub sweep: bool,
    #[arg(long, default_value_t = 64)]
    pub max_cameras: usize,
    #[arg(long, default_value_t = 2)]
    pub sweep_resolution: usize,
    /// Decode modes, side by side.
    #[arg(long, value_delimiter = ',', default_value = "keyframes,all")]
    pub modes: Vec<String>,
    /// Measured seconds per point, after the warm-up.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    #[arg(long, default_value_t = 25)]
    pub warmup_secs: u64,
    /// Target: analysis frames per second for every camera.
    #[arg(long, default_value_t = 1.0)]
    pub min_fps: f64,
    /// Target: p99 of frame → Kafka latency of incident events, milliseconds.
    #[arg(long, default_value_t = 1000.0)]
    pub max_p99_ms: f64,
    /// 1080p25 H.264 byte-stream with a keyframe every second (deploy/setup.sh makes it).
    #[arg(long, default_value = "${STREETWATCH_CACHE}/footage/vtest-1080p25-gop25.h264", value_parser = expand_path)]
    pub footage: PathBuf,
    /// The model manifest (yolov3-tiny at 416, fp32 or int8).
    #[arg(long, default_value = "models/yolov3-tiny-416.toml")]
    pub model: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub inference_threads: usize,
    #[arg(long, default_value_t = 1)]
    pub intra_op_threads: usize,
    /// The zone rule's dwell and reminder interval: incident events to time.
    #[arg(long, default_value_t = 5)]
    pub dwell_secs: u64,
    #[arg(long, default_value_t = 5)]
    pub realarm_secs: u64,
    /// Seconds of the model-alone measurement.
    #[arg(long, default_value_t = 10)]
    pub model_secs: u64,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/models", value_parser = expand_model_dir)]
    pub model_dir: PathBuf,
    /// A frame of the footage, for the model-alone rate.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/testdata/vtest-04.png", value_parser = expand_image)]
    pub image: PathBuf,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/bin/tansu", value_parser = expand_tansu)]
    pub tansu: PathBuf,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchConsoleArgs {
    /// Incidents stored before measuring.
    #[arg(long, default_value_t = 10_000)]
    pub incidents: usize,
    /// Requests per measurement.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Also measure the page in headless Chromium (load, older pages, opening an
    /// incident, live items): needs `deploy/setup.sh`'s playwright-core.
    #[arg(long)]
    pub browser: bool,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchRouterArgs {
    /// Events per measurement.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Events per `submit` call (one outbox fsync each), one measurement per value.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub batches: Vec<usize>,
    /// Threads submitting at once (they share fsyncs), one measurement per value.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub threads: Vec<usize>,
    /// A broker to use (`host:port`); without it, a tansu broker is started.
    #[arg(long)]
    pub bootstrap: Option<String>,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/bin/tansu", value_parser = expand_tansu)]
    pub tansu: PathBuf,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchDetectorArgs {
    /// Model manifests to measure.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "models/yolov3-tiny-320.toml,models/yolov3-tiny-416.toml,models/yolov3-tiny-640.toml"
    )]
    pub manifests: Vec<PathBuf>,
    #[arg(long, default_value = "${STREETWATCH_CACHE}/models", value_parser = expand_model_dir)]
    pub model_dir: PathBuf,
    /// A real frame (a vtest.avi frame by default), scaled to the frame size below.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/testdata/vtest-04.png", value_parser = expand_image)]
    pub image: PathBuf,
    #[arg(long, default_value_t = 1920)]
    pub frame_width: u32,
    #[arg(long, default_value_t = 1080)]
    pub frame_height: u32,
    /// CPU threads given to inference in the throughput comparison.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
    /// Alternating rounds of ONNX Runtime alone and the pipeline (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// A Python with onnxruntime, to measure ONNX Runtime through its Python API too.
    #[arg(long, default_value = "${STREETWATCH_CACHE}/venv/bin/python", value_parser = expand_python)]
    pub python: Option<PathBuf>,
    /// Skip the Python API cross-check.
    #[arg(long, conflicts_with = "python")]
    pub no_python: bool,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
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

fn expand_model_dir(s: &str) -> Result<PathBuf, String> {
    streetwatch::config::expand_env(s, "--model-dir").map(PathBuf::from).map_err(|e| e.message)
}

fn expand_python(s: &str) -> Result<PathBuf, String> {
    streetwatch::config::expand_env(s, "--python").map(PathBuf::from).map_err(|e| e.message)
}

fn expand_tansu(s: &str) -> Result<PathBuf, String> {
    streetwatch::config::expand_env(s, "--tansu").map(PathBuf::from).map_err(|e| e.message)
}

fn expand_image(s: &str) -> Result<PathBuf, String> {
    streetwatch::config::expand_env(s, "--image").map(PathBuf::from).map_err(|e| e.message)
}

fn expand_path(s: &str) -> Result<PathBuf, String> {
    streetwatch::config::expand_env(s, "--footage").map(PathBuf::from).map_err(|e| e.message)
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
