//! The config file as written: serde structs, one per section, every one with
//! `deny_unknown_fields` and documented defaults. docs/config.md mirrors this file.
//!
//! One rule for enums: a value a library acts on is that library's own enum,
//! deserialised as the config spells it (`ingest::DecodeMode`, `detector::zones::ZoneKind`,
//! `router::MessageKey`, `router::encoding::Encoding`, ...); enums defined here are the config's own vocabulary,
//! which no library has a type for (log format, destination kinds, route filters
//! in the wire schema's terms).

use std::collections::BTreeMap;

use detector::session::ExecutionProviderKind;
use detector::zones::{Anchor, ZoneKind};
use router::encoding::Encoding;
use router::MessageKey;
use serde::Deserialize;

// The camera enums are ingest's own, so config names and behaviour cannot drift apart.
pub use ingest::{DecodeMode, Pacing, RtspTransport};

// ---------------------------------------------------------------- [service]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Name of this process in events and logs (`producer_instance`).
    pub instance: String,
    /// After SIGINT/SIGTERM, how long components get to finish before the process exits anyway.
    pub shutdown_deadline_secs: u64,
    /// Log format when `--log-format` is not given.
    pub log_format: LogFormat,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { instance: "streetwatch".into(), shutdown_deadline_secs: 10, log_format: LogFormat::Human }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

// ---------------------------------------------------------------- [http]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub enabled: bool,
    /// Address of `/metrics`, `/healthz`, `/readyz`.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { enabled: true, listen: "127.0.0.1:9600".into() }
    }
}

// ---------------------------------------------------------------- [storage]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Where the outbox, the local event log, evidence and the console database live.
    /// Relative to the config file's directory; `${VAR}` is expanded.
    pub data_dir: String,
    pub evidence_retention_days: u32,
    pub evidence_max_bytes: u64,
    /// Cut an MP4 evidence clip (pre-roll + post-roll, never re-encoded) per incident.
    pub clips: bool,
    /// Seconds of video after the incident started that its clip also covers.
    pub clip_postroll_secs: u64,
    /// Also put evidence in S3-compatible object storage (builds with `--features s3`).
    pub s3: Option<S3Config>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// `https://host[:port]` of the S3-compatible service; `${VAR}` is expanded.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_s3_region")]
    pub region: String,
    /// Put before every object key (`streetwatch/`); keys are `<prefix>evidence/<date>/<camera>/<file>`.
    #[serde(default)]
    pub prefix: String,
    /// Environment variables holding the credentials (never the credentials themselves).
    pub access_key_env: String,
    pub secret_key_env: String,
    /// `https://endpoint/bucket/key` (most self-hosted services) rather than `https://bucket.endpoint/key`.
    #[serde(default = "default_true")]
    pub path_style: bool,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: "var".into(),
            evidence_retention_days: 30,
            evidence_max_bytes: 20 * 1024 * 1024 * 1024,
            clips: true,
            clip_postroll_secs: 10,
            s3: None,
        }
    }
}

// ---------------------------------------------------------------- [detector]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// Path of the model manifest (`models/*.toml`), relative to the config file.
    pub model: String,
    /// Directory holding the converted ONNX files.
    #[serde(default = "default_model_dir")]
    pub model_dir: String,
    /// ONNX Runtime shared library; default: `ORT_DYLIB_PATH`, then the setup cache.
    #[serde(default)]
    pub onnxruntime_library: Option<String>,
    #[serde(default = "default_one")]
    pub inference_threads: u32,
    #[serde(default = "default_one")]
    pub intra_op_threads: u32,
    #[serde(default)]
    pub execution_provider: ExecutionProviderKind,
    /// Fail at startup instead of silently running on CPU when the provider is unavailable.
    #[serde(default)]
    pub require_execution_provider: bool,
    #[serde(default = "default_score_threshold")]
    pub score_threshold: f32,
    /// Per-class overrides of `score_threshold`, by class name.
    #[serde(default)]
    pub class_score_thresholds: BTreeMap<String, f32>,
    #[serde(default = "default_nms_iou")]
    pub nms_iou: f32,
    /// Frames of distinct cameras analysed in one run (models with a dynamic batch only).
    #[serde(default = "default_max_batch")]
    pub max_batch: u32,
    /// At most this many detections per frame, best first.
    #[serde(default = "default_max_detections")]
    pub max_detections: u32,
    /// Boxes narrower or lower than this many frame pixels are dropped.
    #[serde(default = "default_min_box_size_px")]
    pub min_box_size_px: f32,
    /// Boxes wider or taller than this fraction of the frame are dropped.
    #[serde(default = "default_max_box_fraction")]
    pub max_box_fraction: f32,
}

fn default_model_dir() -> String {
    "${STREETWATCH_CACHE}/models".into()
}
fn default_one() -> u32 {
    1
}
fn default_score_threshold() -> f32 {
    0.3
}
fn default_nms_iou() -> f32 {
    0.45
}
fn default_max_batch() -> u32 {
    4
}
fn default_max_detections() -> u32 {
    100
}
fn default_min_box_size_px() -> f32 {
    4.0
}
fn default_max_box_fraction() -> f32 {
    0.95
}

// ---------------------------------------------------------------- [rules]

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    pub sidewalk_parking: SidewalkParkingRule,
    pub street_vending: StreetVendingRule,
    pub bike_cluster: BikeClusterRule,
    pub incidents: IncidentTiming,
    pub stationary: StationaryConfig,
    pub tracking: TrackingConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationaryConfig {
    /// An object stands still while its box keeps at least this IoU with the box it
    /// had when it stopped.
    pub min_iou: f32,
    /// Appearance check: a still object the detector loses, or whose box jumps, stays
    /// still while the pixels where it stopped still look like it (robust to light).
    pub appearance_check: bool,
    /// Normalised cross-correlation of the 16x16 grey patches that counts as "the same".
    pub appearance_min_correlation: f32,
    /// Only objects still at least this long get the appearance check.
    pub appearance_min_still_secs: f64,
}

impl Default for StationaryConfig {
    fn default() -> Self {
        Self { min_iou: 0.7, appearance_check: true, appearance_min_correlation: 0.8, appearance_min_still_secs: 10.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// A track not seen for this long ends: the tolerance for detector drop-outs.
    pub max_lost_secs: f64,
    /// Detections at least this confident are matched first and may start tracks.
    pub high_score: f32,
    /// Minimum IoU between a track's predicted box and a detection.
    pub match_iou: f32,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self { max_lost_secs: 10.0, high_score: 0.5, match_iou: 0.2 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SidewalkParkingRule {
    pub enabled: bool,
    pub dwell_secs: u64,
    pub classes: Vec<String>,
}

impl Default for SidewalkParkingRule {
    fn default() -> Self {
        Self {
            enabled: true,
            dwell_secs: 120,
            classes: vec!["car".into(), "truck".into(), "bus".into(), "motorbike".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreetVendingRule {
    pub enabled: bool,
    pub dwell_secs: u64,
    pub person_class: String,
    /// Objects that mark a stall when a stationary person is with them.
    pub stall_classes: Vec<String>,
    /// Stationary persons that count as vending even without stall objects.
    pub min_persons_without_stall: u32,
    /// How close persons and stall objects must be to form one stall, as a fraction
    /// of the frame diagonal.
    pub group_radius: f64,
}

impl Default for StreetVendingRule {
    fn default() -> Self {
        Self {
            enabled: true,
            dwell_secs: 300,
            person_class: "person".into(),
            stall_classes: ["umbrella", "diningtable", "chair", "bench", "suitcase", "pottedplant"]
                .map(String::from)
                .to_vec(),
            min_persons_without_stall: 3,
            group_radius: 0.1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BikeClusterRule {
    pub enabled: bool,
    pub dwell_secs: u64,
    pub min_count: u32,
    /// Neighbourhood radius for clustering, as a fraction of the frame diagonal.
    pub cluster_radius: f64,
    pub include_motorbikes: bool,
    /// The bicycle class; a person overlapping one is riding it, not parking it.
    pub bicycle_class: String,
    pub motorbike_class: String,
    pub person_class: String,
    /// Flag clusters anywhere in the frame, not only in no-bike-parking zones.
    pub anywhere: bool,
}

impl Default for BikeClusterRule {
    fn default() -> Self {
        Self {
            enabled: true,
            dwell_secs: 180,
            min_count: 5,
            cluster_radius: 0.08,
            include_motorbikes: false,
            bicycle_class: "bicycle".into(),
            motorbike_class: "motorbike".into(),
            person_class: "person".into(),
            anywhere: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentTiming {
    /// At most one UPDATED per incident this often.
    pub update_interval_secs: u64,
    /// The condition must be false this long before ENDED.
    pub clear_secs: u64,
    /// A violation still standing gets a reminder UPDATED this often (0: never). It
    /// stays one incident.
    pub realarm_secs: u64,
    /// Severity goes up after this long.
    pub escalate_after_secs: u64,
}

impl Default for IncidentTiming {
    fn default() -> Self {
        Self { update_interval_secs: 60, clear_secs: 30, realarm_secs: 4 * 3600, escalate_after_secs: 900 }
    }
}

// ---------------------------------------------------------------- [[cameras]]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Stable id: letters, digits, `-`, `_`, `.`; used in events, metrics and Kafka keys.
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `rtsp://host/path`, `file:///abs/path.mp4` or `test://pattern`; `${VAR}` is expanded.
    pub url: String,
    /// Environment variables that hold the credentials (never the credentials themselves).
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Optional 20-digit GB/T 28181 device code.
    #[serde(default)]
    pub gbt28181_code: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub grid: Option<String>,
    /// Camera group, for routing.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub decode: DecodeMode,
    /// For `sampled` (and the keyframes fallback): frames per second delivered.
    #[serde(default = "default_sample_fps")]
    pub sample_fps: f64,
    /// In `keyframes` mode, fall back to `sampled` when keyframes are further apart than this.
    #[serde(default = "default_max_keyframe_interval")]
    pub max_keyframe_interval_secs: f64,
    /// In `keyframes` mode: which keyframes are decoded at all (docs/ingest.md).
    #[serde(default)]
    pub change_gate: ChangeGateConfig,
    #[serde(default)]
    pub transport: RtspTransport,
    #[serde(default = "default_latency_ms")]
    pub latency_ms: u32,
    #[serde(default = "default_stall_timeout")]
    pub stall_timeout_secs: u64,
    #[serde(default = "default_preroll")]
    pub preroll_secs: u64,
    /// Longest wait between reconnection attempts (exponential backoff from 1 s).
    #[serde(default = "default_max_backoff")]
    pub max_backoff_secs: u64,
    /// Wait after the camera refused the credentials.
    #[serde(default = "default_auth_retry")]
    pub auth_retry_secs: u64,
    /// For file sources: start again at the end.
    #[serde(default, rename = "loop")]
    pub loop_file: bool,
    /// For file sources: play at recorded speed, or as fast as possible.
    #[serde(default)]
    pub pacing: Pacing,
    /// IANA-free fixed offset of the camera's local time, for zone schedules (`+08:00`).
    #[serde(default = "default_utc_offset")]
    pub utc_offset: String,
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
    #[serde(default)]
    pub privacy_masks: Vec<PrivacyMaskConfig>,
}

/// `[cameras.change_gate]`: skip keyframes of a still scene before decoding them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeGateConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A still scene is still analysed this often. 8 s: an incident then starts within
    /// dwell + 10 s of the situation even when the signal misses its beginning (a
    /// keyframe interval of up to 2 s included).
    #[serde(default = "default_gate_floor")]
    pub floor_secs: f64,
    /// Change is a signal this fraction above the camera's still-scene level.
    #[serde(default = "default_gate_margin")]
    pub margin: f64,
    /// A higher level the detector keeps finding nothing in (night noise, rain)
    /// becomes the still-scene level after this long.
    #[serde(default = "default_gate_relearn")]
    pub relearn_after_secs: f64,
}

impl Default for ChangeGateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            floor_secs: default_gate_floor(),
            margin: default_gate_margin(),
            relearn_after_secs: default_gate_relearn(),
        }
    }
}

fn default_gate_floor() -> f64 {
    8.0
}
fn default_gate_margin() -> f64 {
    0.25
}
fn default_gate_relearn() -> f64 {
    60.0
}

fn default_true() -> bool {
    true
}
fn default_sample_fps() -> f64 {
    2.0
}
fn default_max_keyframe_interval() -> f64 {
    4.0
}
fn default_latency_ms() -> u32 {
    200
}
fn default_stall_timeout() -> u64 {
    10
}
fn default_preroll() -> u64 {
    10
}
fn default_max_backoff() -> u64 {
    8
}
fn default_auth_retry() -> u64 {
    60
}
fn default_utc_offset() -> String {
    "+08:00".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub kind: ZoneKind,
    /// At least 3 points `[x, y]`.
    pub polygon: Vec<[f64; 2]>,
    #[serde(default)]
    pub coordinates: Coordinates,
    #[serde(default)]
    pub anchor: Anchor,
    /// How long an object's anchor must be inside before it counts as in the zone.
    #[serde(default = "default_entry_inertia")]
    pub entry_inertia_secs: f64,
    /// An exemption zone: objects anchored here never raise incidents.
    #[serde(default)]
    pub exempt: bool,
    /// Local-time windows (`"18:00-22:00"`) when the zone's rules are *not* enforced.
    #[serde(default)]
    pub tolerated: Vec<String>,
    /// Per-zone override of the rule's `dwell_secs`.
    #[serde(default)]
    pub dwell_secs: Option<u64>,
}

fn default_entry_inertia() -> f64 {
    2.0
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Coordinates {
    /// 0..1 of the frame width and height.
    #[default]
    Normalized,
    Pixel,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyMaskConfig {
    pub polygon: Vec<[f64; 2]>,
    #[serde(default)]
    pub coordinates: Coordinates,
}

// ---------------------------------------------------------------- [router]

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    pub kafka: Option<KafkaConfig>,
    pub destinations: Vec<DestinationConfig>,
    pub routes: Vec<RouteConfig>,
    pub outbox: OutboxConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`
    pub bootstrap_servers: String,
    #[serde(default)]
    pub security_protocol: Option<SecurityProtocol>,
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    #[serde(default)]
    pub sasl_username_env: Option<String>,
    #[serde(default)]
    pub sasl_password_env: Option<String>,
    #[serde(default)]
    pub ssl_ca_location: Option<String>,
    /// Further librdkafka properties, passed through as they are (no secrets here).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Startup reachability check timeout.
    #[serde(default = "default_probe_timeout")]
    pub probe_timeout_secs: u64,
    /// How long the producer keeps trying one send before it counts as failed (the
    /// outbox then sends it again, so nothing is lost; this only paces retries).
    #[serde(default = "default_message_timeout")]
    pub message_timeout_secs: u64,
}

fn default_message_timeout() -> u64 {
    30
}

fn default_probe_timeout() -> u64 {
    5
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    pub name: String,
    pub kind: DestinationKind,
    /// Kafka topic (kind = "kafka").
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub encoding: Encoding,
    /// What Kafka messages are keyed by (kind = "kafka"): `camera` keeps one camera's
    /// events in order, `incident` one incident's (a topic of operator decisions).
    #[serde(default)]
    pub key: MessageKey,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    Kafka,
    /// The embedded append-only event log under `storage.data_dir`.
    Local,
    Console,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// Empty lists match everything.
    #[serde(default)]
    pub kinds: Vec<IncidentKindName>,
    #[serde(default)]
    pub phases: Vec<PhaseName>,
    #[serde(default)]
    pub zone_kinds: Vec<ZoneKind>,
    #[serde(default)]
    pub cameras: Vec<String>,
    #[serde(default)]
    pub camera_groups: Vec<String>,
    #[serde(default)]
    pub min_severity: Option<SeverityName>,
    pub destinations: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKindName {
    SidewalkParking,
    StreetVending,
    BikeCluster,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Started,
    Updated,
    Ended,
    /// Operator decisions from the console.
    Reviewed,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SeverityName {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Upper bound of undelivered events on disk.
    pub max_bytes: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { max_bytes: 1024 * 1024 * 1024 }
    }
}

// ---------------------------------------------------------------- [cluster]

/// Scale-out: workers take their cameras from a compacted Kafka topic, shared out by
/// one consumer group (docs/scale-out.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub enabled: bool,
    /// Compacted topic: key = camera id, value = the camera's table (TOML).
    pub assignments_topic: String,
    /// The workers' consumer group.
    pub group_id: String,
    /// How long the group waits for a silent worker before moving its cameras.
    pub session_timeout_secs: u64,
    /// Compacted topic of camera health: key = camera id, value = `CameraStatus`
    /// (protobuf). Workers publish each state change and a heartbeat; the shared
    /// console reads it.
    pub camera_status_topic: String,
    /// How often a worker repeats every camera's status, in seconds.
    pub heartbeat_secs: u64,
    /// The group's rebalance protocol.
    pub rebalance: RebalanceProtocol,
}

/// How the workers' group moves cameras when a worker joins or leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RebalanceProtocol {
    /// Incremental (`cooperative-sticky`): only the cameras that move stop and start.
    #[default]
    Cooperative,
    /// Every worker gives up all its cameras at every rebalance (`range`); kept for
    /// comparison and for brokers that cannot do better.
    Eager,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            assignments_topic: "streetwatch.camera-assignments".into(),
            group_id: "streetwatch-workers".into(),
            session_timeout_secs: 10,
            camera_status_topic: "streetwatch.camera-status".into(),
            heartbeat_secs: 5,
            rebalance: RebalanceProtocol::Cooperative,
        }
    }
}

// ---------------------------------------------------------------- [console]

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Off unless asked for: an enabled console needs a users file (there is no
    /// default password).
    pub enabled: bool,
    /// Localhost by default: opening it wider is a deliberate choice.
    pub listen: String,
    /// File of operator accounts (argon2 hashes); relative to the config file.
    /// Required when the console is enabled.
    pub users_file: Option<String>,
    /// The console's SQLite database (incidents, operator actions, audit log,
    /// sessions); relative to the config file. Default `<data_dir>/console/console.db`.
    pub database: Option<String>,
    /// Mark session cookies `Secure` (and name them `__Host-sw_session`). Unset: yes
    /// when `listen` is beyond loopback (a TLS proxy must front it), no on loopback.
    pub secure_cookies: Option<bool>,
    /// How long a login lasts, in hours.
    pub session_hours: u32,
    /// The shared console of a cluster (`streetwatch console`): what it reads.
    pub shared: SharedConsoleConfig,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "127.0.0.1:8080".into(),
            users_file: None,
            database: None,
            secure_cookies: None,
            session_hours: 12,
            shared: SharedConsoleConfig::default(),
        }
    }
}

/// `[console.shared]`: one console for many workers. It reads the incidents topic
/// (protobuf), the reviews topic and `[cluster] camera_status_topic` in its own
/// consumer group, and publishes operator decisions to the reviews topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedConsoleConfig {
    /// The workers' incident events, protobuf-encoded (a `kafka` destination of theirs).
    pub incidents_topic: String,
    /// Operator decisions (REVIEWED events, protobuf, key = incident id): written by
    /// the console, read back by it (a rebuild) and by the other platforms.
    pub reviews_topic: String,
    /// The console's consumer group.
    pub group_id: String,
    /// A camera whose newest status is older than this shows `stale` (at least three
    /// of its worker's heartbeat intervals are waited for in any case).
    pub stale_after_secs: u64,
}

impl Default for SharedConsoleConfig {
    fn default() -> Self {
        Self {
            incidents_topic: "streetwatch.incidents".into(),
            reviews_topic: "streetwatch.reviews".into(),
            group_id: "streetwatch-console".into(),
            stale_after_secs: 15,
        }
    }
}
