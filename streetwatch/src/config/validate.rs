//! Stage 2: what the config means. Every problem is collected with its path; the
//! result holds resolved paths, parsed addresses and camera URLs with credentials
//! taken from the environment.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use detector::geometry::check_polygon_shape;
use detector::preprocess::privacy_mask::PrivacyMask;
use detector::rules::RuleSettings;
use detector::tracking::tracker::TrackerSettings;
use detector::zones::Zone;
use detector::ModelManifest;
use ingest::{CameraSettings, CameraUrl, Credentials, SourceKind};
use router::encoding::Encoding;
use router::routes::Route;
use router::KafkaConnection;

use super::domain::{self, parse_utc_offset, parse_window};
use super::expand::expand;
use super::parse::RawConfig;
use super::schema::*;
use super::ConfigError;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub service: ServiceConfig,
    /// None when the HTTP endpoint is disabled.
    pub http_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub storage: StorageConfig,
    pub detector: DetectorConfig,
    pub model_manifest_path: PathBuf,
    pub model_manifest: ModelManifest,
    pub model_dir: PathBuf,
    pub onnxruntime_library: Option<PathBuf>,
    /// `[[router.routes]]` in the router's terms (wire-schema values).
    pub routes: Vec<Route>,
    pub rule_settings: RuleSettings,
    pub tracker_settings: TrackerSettings,
    pub cameras: Vec<Camera>,
    pub router: RouterConfig,
    pub kafka: Option<KafkaConnection>,
    pub console: ConsoleConfig,
    pub console_listen: Option<SocketAddr>,
    /// The console's accounts (set when the console is enabled).
    pub console_users_file: Option<PathBuf>,
    pub console_database: PathBuf,
    pub cluster: ClusterConfig,
    /// Object storage that evidence is also put in (`[storage.s3]`).
    pub evidence_s3: Option<S3Settings>,
    /// Things that work but deserve a look (credentials written in a URL, ...).
    pub warnings: Vec<ConfigError>,
}

#[derive(Debug, Clone)]
pub struct Camera {
    /// The table as written: what names the camera (id, site, grid, group, GB/T
    /// 28181 code) and whether it is enabled.
    pub config: CameraConfig,
    /// What ingest runs, the URL with `${VAR}` expanded and credentials from the
    /// environment applied.
    pub ingest: CameraSettings,
    pub zones: Vec<Zone>,
    pub privacy_masks: Vec<PrivacyMask>,
    pub utc_offset_minutes: i32,
}

impl Config {
    /// Kafka topics that `run` publishes to: its destinations', and in a cluster the
    /// camera-status topic.
    pub fn kafka_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self
            .router
            .destinations
            .iter()
            .filter(|d| d.kind == DestinationKind::Kafka)
            .filter_map(|d| d.topic.clone())
            .collect();
        if self.cluster.enabled {
            topics.push(self.cluster.camera_status_topic.clone());
        }
        topics
    }
}

/// Collects problems; `path` names the key.
#[derive(Default)]
struct Problems {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Problems {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigError::new(path, message));
    }
    fn check(&mut self, ok: bool, path: &str, message: &str) {
        if !ok {
            self.error(path, message);
        }
    }
    /// Expands `${VAR}`; on error records it and returns None.
    fn expand(&mut self, value: &str, path: &str) -> Option<String> {
        expand(value, path).map_err(|e| self.errors.push(e)).ok()
    }
    fn listen_addr(&mut self, value: &str, path: &str) -> Option<SocketAddr> {
        value
            .parse()
            .map_err(|_| self.error(path, format!("`{value}` is not an IP address with a port (e.g. 127.0.0.1:9600)")))
            .ok()
    }
    /// The value of an environment variable named by a `*_env` key. The value is never echoed.
    fn secret_env(&mut self, var: &str, path: &str) -> Option<String> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                self.error(path, format!("environment variable {var} is not set"));
                None
            }
        }
    }
}

fn resolve_path(base_dir: &Path, value: &str) -> PathBuf {
    let p = PathBuf::from(value);
    if p.is_absolute() {
        p
    } else {
        base_dir.join(p)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

const ID_RULE: &str = "must be 1-64 characters of letters, digits, '-', '_' or '.'";

/// `parse_errors` are the errors of sections that could not be read; validation still
/// checks everything that could, and all errors are returned together.
pub fn validate(
    mut raw: RawConfig,
    parse_errors: Vec<ConfigError>,
    file: &Path,
    base_dir: &Path,
) -> Result<Config, Vec<ConfigError>> {
    let mut p = Problems { errors: parse_errors, warnings: Vec::new() };

    // [service]
    // Expands (`${POD_NAME}`): each worker of a cluster names itself in its events.
    if let Some(instance) = p.expand(&raw.service.instance, "service.instance") {
        raw.service.instance = instance;
    }
    p.check(!raw.service.instance.trim().is_empty(), "service.instance", "must not be empty");
    p.check(
        (1..=600).contains(&raw.service.shutdown_deadline_secs),
        "service.shutdown_deadline_secs",
        "must be between 1 and 600",
    );

    // [http], [console]
    let http_listen = if raw.http.enabled { p.listen_addr(&raw.http.listen, "http.listen") } else { None };
    let console_listen = if raw.console.enabled { p.listen_addr(&raw.console.listen, "console.listen") } else { None };
    if let (Some(a), Some(b)) = (http_listen, console_listen) {
        p.check(a != b, "console.listen", "must differ from http.listen");
    }
    let console_users_file = match (&raw.console.users_file, raw.console.enabled) {
        (Some(f), _) => p.expand(f, "console.users_file").map(|f| resolve_path(base_dir, &f)),
        (None, true) => {
            p.error(
                "console.users_file",
                "required when the console is enabled: there is no default account or password \
                 (create one with `streetwatch console-user --users-file FILE --name NAME --role operator`)",
            );
            None
        }
        (None, false) => None,
    };
    let console_database = match &raw.console.database {
        Some(d) => p.expand(d, "console.database").map(|d| resolve_path(base_dir, &d)),
        None => None,
    };
    p.check((1..=720).contains(&raw.console.session_hours), "console.session_hours", "must be between 1 and 720");

    // [storage]
    let data_dir = p.expand(&raw.storage.data_dir, "storage.data_dir").map(|d| resolve_path(base_dir, &d));
    p.check(raw.storage.evidence_retention_days >= 1, "storage.evidence_retention_days", "must be at least 1");
    p.check(raw.storage.clip_postroll_secs <= 120, "storage.clip_postroll_secs", "must be at most 120");
    let evidence_s3 = raw.storage.s3.as_ref().and_then(|s3| check_s3(&mut p, s3));

    // [detector] (absent only when it failed to parse: its error is recorded already)
    let model = raw.detector.as_ref().map(|d| check_detector(&mut p, d, &raw.rules, base_dir));

    // [rules], [[cameras]], [router]
    check_rules(&mut p, &raw.rules);
    let mut camera_ids: HashMap<&str, usize> = HashMap::new();
    let mut cameras = Vec::new();
    // A cluster worker takes its cameras from the assignment topic.
    if raw.cameras.is_empty() && !raw.cluster.enabled && !p.errors.iter().any(|e| e.path.starts_with("cameras")) {
        p.error("cameras", "no camera configured (add a [[cameras]] table)");
    }
    for (i, cam) in &raw.cameras {
        let at = format!("cameras[{i}]");
        if !valid_id(&cam.id) {
            p.error(format!("{at}.id"), ID_RULE);
        } else if let Some(first) = camera_ids.insert(&cam.id, *i) {
            p.error(format!("{at}.id"), format!("`{}` is already the id of cameras[{first}]", cam.id));
            camera_ids.insert(&cam.id, first);
        }
        if let Some(camera) = check_camera(&mut p, cam, &at) {
            cameras.push(camera);
        }
    }
    let kafka = raw.router.kafka.as_ref().and_then(|k| kafka_connection(&mut p, k, base_dir));
    check_router(&mut p, &raw.router, &camera_ids);
    if raw.cluster.enabled {
        p.check(
            raw.router.kafka.is_some(),
            "cluster.enabled",
            "needs [router.kafka] (the assignment topic is on that cluster)",
        );
        p.check(!raw.cluster.assignments_topic.trim().is_empty(), "cluster.assignments_topic", "must not be empty");
        p.check(!raw.cluster.group_id.trim().is_empty(), "cluster.group_id", "must not be empty");
        p.check(
            (1..=300).contains(&raw.cluster.session_timeout_secs),
            "cluster.session_timeout_secs",
            "must be between 1 and 300",
        );
        p.check(!raw.cluster.camera_status_topic.trim().is_empty(), "cluster.camera_status_topic", "must not be empty");
        p.check((1..=300).contains(&raw.cluster.heartbeat_secs), "cluster.heartbeat_secs", "must be between 1 and 300");
    }
    let shared = &raw.console.shared;
    p.check(!shared.incidents_topic.trim().is_empty(), "console.shared.incidents_topic", "must not be empty");
    p.check(!shared.reviews_topic.trim().is_empty(), "console.shared.reviews_topic", "must not be empty");
    p.check(!shared.group_id.trim().is_empty(), "console.shared.group_id", "must not be empty");
    p.check(
        (1..=3600).contains(&shared.stale_after_secs),
        "console.shared.stale_after_secs",
        "must be between 1 and 3600",
    );
    for (i, d) in raw.router.destinations.iter().enumerate() {
        if d.kind == DestinationKind::Console && !raw.console.enabled {
            p.error(format!("router.destinations[{i}].kind"), "a console destination needs [console] enabled = true");
        }
    }

    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    // With no error recorded, every part below was resolved.
    let (Some(data_dir), Some(detector), Some(Some(model))) = (data_dir, raw.detector, model) else {
        return Err(vec![ConfigError::new("", "internal: validation left a part unresolved")]);
    };
    let console_database = console_database.unwrap_or_else(|| data_dir.join("console").join("console.db"));
    let rule_settings = domain::rule_settings(&raw.rules, &model.manifest);
    Ok(Config {
        file: file.to_path_buf(),
        service: raw.service,
        http_listen,
        data_dir,
        storage: raw.storage,
        detector,
        model_manifest_path: model.manifest_path,
        model_manifest: model.manifest,
        model_dir: model.model_dir,
        onnxruntime_library: model.onnxruntime_library,
        routes: domain::routes(&raw.router),
        rule_settings,
        tracker_settings: domain::tracker_settings(&raw.rules),
        cameras,
        router: raw.router,
        kafka,
        console_database,
        console: raw.console,
        console_listen,
        console_users_file,
        cluster: raw.cluster,
        evidence_s3,
        warnings: p.warnings,
    })
}

fn check_s3(p: &mut Problems, s3: &S3Config) -> Option<S3Settings> {
    if !cfg!(feature = "s3") {
        p.error("storage.s3", "this build has no S3 support (build with `cargo build --release --features s3`)");
        return None;
    }
    let endpoint = p.expand(&s3.endpoint, "storage.s3.endpoint")?;
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        p.error("storage.s3.endpoint", format!("`{endpoint}` is not an http:// or https:// address"));
    }
    if s3.bucket.is_empty() {
        p.error("storage.s3.bucket", "must not be empty");
    }
    let access_key = p.secret_env(&s3.access_key_env, "storage.s3.access_key_env");
    let secret_key = p.secret_env(&s3.secret_key_env, "storage.s3.secret_key_env");
    Some(S3Settings {
        endpoint,
        bucket: s3.bucket.clone(),
        region: s3.region.clone(),
        prefix: s3.prefix.clone(),
        path_style: s3.path_style,
        access_key: access_key?,
        secret_key: secret_key?,
    })
}

/// Where evidence also goes, with the credentials resolved. `Debug` never shows them.
#[derive(Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub prefix: String,
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The detector's resolved files.
struct ResolvedModel {
    manifest_path: PathBuf,
    manifest: ModelManifest,
    model_dir: PathBuf,
    onnxruntime_library: Option<PathBuf>,
}

fn check_detector(p: &mut Problems, d: &DetectorConfig, rules: &RulesConfig, base_dir: &Path) -> Option<ResolvedModel> {
    let manifest_path = p.expand(&d.model, "detector.model").map(|m| resolve_path(base_dir, &m));
    let manifest = manifest_path
        .as_ref()
        .and_then(|path| ModelManifest::load(path).map_err(|e| p.error("detector.model", e.to_string())).ok());
    let model_dir = p.expand(&d.model_dir, "detector.model_dir").map(|m| resolve_path(base_dir, &m));
    let onnxruntime_library = match &d.onnxruntime_library {
        Some(lib) => p.expand(lib, "detector.onnxruntime_library").map(|l| Some(resolve_path(base_dir, &l))),
        None => Some(None),
    };
    p.check((1..=64).contains(&d.inference_threads), "detector.inference_threads", "must be between 1 and 64");
    p.check((1..=64).contains(&d.intra_op_threads), "detector.intra_op_threads", "must be between 1 and 64");
    p.check(d.score_threshold > 0.0 && d.score_threshold < 1.0, "detector.score_threshold", "must be between 0 and 1");
    p.check(d.nms_iou > 0.0 && d.nms_iou <= 1.0, "detector.nms_iou", "must be in (0, 1]");
    p.check((1..=64).contains(&d.max_batch), "detector.max_batch", "must be between 1 and 64");
    p.check((1..=10_000).contains(&d.max_detections), "detector.max_detections", "must be between 1 and 10000");
    p.check(d.min_box_size_px >= 0.0 && d.min_box_size_px.is_finite(), "detector.min_box_size_px", "must be 0 or more");
    p.check(d.max_box_fraction > 0.0 && d.max_box_fraction <= 1.0, "detector.max_box_fraction", "must be in (0, 1]");
    for (class, t) in &d.class_score_thresholds {
        p.check(*t > 0.0 && *t < 1.0, &format!("detector.class_score_thresholds.{class}"), "must be between 0 and 1");
    }
    if let Some(m) = &manifest {
        let thresholds: Vec<String> = d.class_score_thresholds.keys().cloned().collect();
        check_classes(p, m, &thresholds, "detector.class_score_thresholds");
        check_classes(p, m, &rules.sidewalk_parking.classes, "rules.sidewalk_parking.classes");
        check_classes(
            p,
            m,
            std::slice::from_ref(&rules.street_vending.person_class),
            "rules.street_vending.person_class",
        );
        check_classes(p, m, &rules.street_vending.stall_classes, "rules.street_vending.stall_classes");
        let bikes = &rules.bike_cluster;
        let mut single = vec![
            (&bikes.bicycle_class, "rules.bike_cluster.bicycle_class"),
            (&bikes.person_class, "rules.bike_cluster.person_class"),
        ];
        if bikes.include_motorbikes {
            single.push((&bikes.motorbike_class, "rules.bike_cluster.motorbike_class"));
        }
        for (class, path) in single {
            check_classes(p, m, std::slice::from_ref(class), path);
        }
    }
    Some(ResolvedModel {
        manifest_path: manifest_path?,
        manifest: manifest?,
        model_dir: model_dir?,
        onnxruntime_library: onnxruntime_library?,
    })
}

fn check_rules(p: &mut Problems, r: &RulesConfig) {
    for (path, secs) in [
        ("rules.sidewalk_parking.dwell_secs", r.sidewalk_parking.dwell_secs),
        ("rules.street_vending.dwell_secs", r.street_vending.dwell_secs),
        ("rules.bike_cluster.dwell_secs", r.bike_cluster.dwell_secs),
        ("rules.incidents.update_interval_secs", r.incidents.update_interval_secs),
        ("rules.incidents.clear_secs", r.incidents.clear_secs),
    ] {
        p.check(secs >= 1, path, "must be at least 1");
    }
    p.check(r.bike_cluster.min_count >= 2, "rules.bike_cluster.min_count", "must be at least 2");
    p.check(
        r.bike_cluster.cluster_radius > 0.0 && r.bike_cluster.cluster_radius <= 1.0,
        "rules.bike_cluster.cluster_radius",
        "must be in (0, 1] (a fraction of the frame diagonal)",
    );
    p.check(
        r.street_vending.min_persons_without_stall >= 1,
        "rules.street_vending.min_persons_without_stall",
        "must be at least 1",
    );
    p.check(
        r.incidents.realarm_secs == 0 || r.incidents.realarm_secs >= r.incidents.update_interval_secs,
        "rules.incidents.realarm_secs",
        "must be 0 (no reminders) or at least rules.incidents.update_interval_secs",
    );
    p.check(
        r.street_vending.group_radius > 0.0 && r.street_vending.group_radius <= 1.0,
        "rules.street_vending.group_radius",
        "must be in (0, 1] (a fraction of the frame diagonal)",
    );
    let st = &r.stationary;
    p.check(st.min_iou > 0.0 && st.min_iou < 1.0, "rules.stationary.min_iou", "must be between 0 and 1");
    p.check(
        st.appearance_min_correlation > 0.0 && st.appearance_min_correlation < 1.0,
        "rules.stationary.appearance_min_correlation",
        "must be between 0 and 1",
    );
    p.check(
        st.appearance_min_still_secs >= 0.0 && st.appearance_min_still_secs.is_finite(),
        "rules.stationary.appearance_min_still_secs",
        "must be 0 or more",
    );
    let tr = &r.tracking;
    p.check(
        tr.max_lost_secs > 0.0 && tr.max_lost_secs <= 3600.0,
        "rules.tracking.max_lost_secs",
        "must be in (0, 3600]",
    );
    p.check(tr.high_score > 0.0 && tr.high_score < 1.0, "rules.tracking.high_score", "must be between 0 and 1");
    p.check(tr.match_iou > 0.0 && tr.match_iou < 1.0, "rules.tracking.match_iou", "must be between 0 and 1");
}

fn check_classes(p: &mut Problems, manifest: &ModelManifest, classes: &[String], path: &str) {
    for (i, class) in classes.iter().enumerate() {
        if manifest.class_index(class).is_none() {
            let hint = manifest
                .classes
                .iter()
                .find(|c| c.replace(' ', "") == class.replace(' ', ""))
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            let at = if classes.len() == 1 && !path.ends_with("classes") {
                path.to_string()
            } else {
                format!("{path}[{i}]")
            };
            p.error(at, format!("class `{class}` is not one of model {}'s classes{hint}", manifest.name));
        }
    }
}

fn check_camera(p: &mut Problems, cam: &CameraConfig, at: &str) -> Option<Camera> {
    let url_path = format!("{at}.url");
    let mut url = p
        .expand(&cam.url, &url_path)
        .and_then(|u| CameraUrl::parse(&u).map_err(|e| p.error(&url_path, e.to_string())).ok());
    if let Some(u) = &url {
        if u.credentials().is_some() {
            p.warn(&url_path, "credentials written in the URL; prefer username_env/password_env");
        }
        if u.kind() == SourceKind::File {
            if let Some(path) = u.file_path().filter(|f| !f.is_file()) {
                p.error(
                    &url_path,
                    format!("file {} does not exist (run deploy/setup.sh for the sample footage)", path.display()),
                );
            }
        }
        if u.kind() != SourceKind::Rtsp && (cam.username_env.is_some() || cam.password_env.is_some()) {
            p.error(format!("{at}.password_env"), "credentials only apply to rtsp:// cameras");
        }
    }
    match (&cam.username_env, &cam.password_env) {
        (Some(uv), Some(pv)) => {
            let user = p.secret_env(uv, &format!("{at}.username_env"));
            let pass = p.secret_env(pv, &format!("{at}.password_env"));
            if let (Some(u), Some(user), Some(pass)) = (url.as_mut(), user, pass) {
                u.set_credentials(Credentials::new(user, pass));
            }
        }
        (None, None) => {}
        (Some(_), None) => p.error(format!("{at}.password_env"), "needed when username_env is set"),
        (None, Some(_)) => p.error(format!("{at}.username_env"), "needed when password_env is set"),
    }
    if let Some(code) = &cam.gbt28181_code {
        p.check(
            code.len() == 20 && code.bytes().all(|b| b.is_ascii_digit()),
            &format!("{at}.gbt28181_code"),
            "must be 20 digits",
        );
    }
    p.check(cam.sample_fps > 0.0 && cam.sample_fps <= 60.0, &format!("{at}.sample_fps"), "must be in (0, 60]");
    p.check(
        cam.max_keyframe_interval_secs > 0.0 && cam.max_keyframe_interval_secs <= 60.0,
        &format!("{at}.max_keyframe_interval_secs"),
        "must be in (0, 60]",
    );
    let gate = &cam.change_gate;
    p.check(
        (1.0..=600.0).contains(&gate.floor_secs),
        &format!("{at}.change_gate.floor_secs"),
        "must be between 1 and 600",
    );
    p.check(gate.margin > 0.0 && gate.margin <= 10.0, &format!("{at}.change_gate.margin"), "must be in (0, 10]");
    p.check(
        (10.0..=3600.0).contains(&gate.relearn_after_secs),
        &format!("{at}.change_gate.relearn_after_secs"),
        "must be between 10 and 3600",
    );
    p.check(cam.stall_timeout_secs >= 1, &format!("{at}.stall_timeout_secs"), "must be at least 1");
    p.check(cam.preroll_secs <= 120, &format!("{at}.preroll_secs"), "must be at most 120");
    p.check((1..=600).contains(&cam.max_backoff_secs), &format!("{at}.max_backoff_secs"), "must be between 1 and 600");
    p.check((1..=3600).contains(&cam.auth_retry_secs), &format!("{at}.auth_retry_secs"), "must be between 1 and 3600");
    let utc_offset_minutes = parse_utc_offset(&cam.utc_offset);
    if utc_offset_minutes.is_none() {
        p.error(format!("{at}.utc_offset"), format!("`{}` is not an offset like +08:00", cam.utc_offset));
    }
    let mut zones = Vec::with_capacity(cam.zones.len());
    let mut zone_ids = HashSet::new();
    for (z, zone) in cam.zones.iter().enumerate() {
        let zat = format!("{at}.zones[{z}]");
        if !valid_id(&zone.id) {
            p.error(format!("{zat}.id"), ID_RULE);
        } else if !zone_ids.insert(zone.id.as_str()) {
            p.error(format!("{zat}.id"), format!("`{}` is used by another zone of this camera", zone.id));
        }
        check_polygon(p, &zone.polygon, zone.coordinates, &format!("{zat}.polygon"));
        p.check(
            (0.0..=600.0).contains(&zone.entry_inertia_secs),
            &format!("{zat}.entry_inertia_secs"),
            "must be between 0 and 600",
        );
        if zone.dwell_secs == Some(0) {
            p.error(format!("{zat}.dwell_secs"), "must be at least 1");
        }
        let mut tolerated = Vec::with_capacity(zone.tolerated.len());
        for (w, window) in zone.tolerated.iter().enumerate() {
            match parse_window(window) {
                Some(parsed) => tolerated.push(parsed),
                None => {
                    p.error(format!("{zat}.tolerated[{w}]"), format!("`{window}` is not a window like \"18:00-22:00\""))
                }
            }
        }
        zones.push(domain::zone(zone, tolerated));
    }
    for (m, mask) in cam.privacy_masks.iter().enumerate() {
        check_polygon(p, &mask.polygon, mask.coordinates, &format!("{at}.privacy_masks[{m}].polygon"));
    }
    // A camera with a problem is not built (validation fails with the problem).
    Some(Camera {
        ingest: domain::camera_settings(cam, url?),
        zones,
        privacy_masks: cam.privacy_masks.iter().map(domain::privacy_mask).collect(),
        utc_offset_minutes: utc_offset_minutes?,
        config: cam.clone(),
    })
}

fn check_polygon(p: &mut Problems, points: &[[f64; 2]], coords: Coordinates, path: &str) {
    if let Err(problem) = check_polygon_shape(points) {
        p.error(path, problem.to_string());
        return;
    }
    for (i, [x, y]) in points.iter().enumerate() {
        let ok = match coords {
            Coordinates::Normalized => (0.0..=1.0).contains(x) && (0.0..=1.0).contains(y),
            Coordinates::Pixel => *x >= 0.0 && *y >= 0.0,
        };
        if !ok {
            let range = if coords == Coordinates::Normalized {
                "inside 0..1 (normalized coordinates)"
            } else {
                "non-negative (pixel coordinates)"
            };
            p.error(path, format!("point {i} [{x}, {y}] must be {range}"));
        }
    }
}

fn kafka_connection(p: &mut Problems, k: &KafkaConfig, base_dir: &Path) -> Option<KafkaConnection> {
    let mut ok = true;
    if k.bootstrap_servers.trim().is_empty() {
        p.error("router.kafka.bootstrap_servers", "must not be empty");
        ok = false;
    }
    let mut conn = KafkaConnection::new(k.bootstrap_servers.trim());
    if let Some(sp) = k.security_protocol {
        conn.properties.push(("security.protocol".into(), sp.as_librdkafka().into()));
    }
    if let Some(mech) = &k.sasl_mechanism {
        conn.properties.push(("sasl.mechanism".into(), mech.clone()));
    }
    match (&k.sasl_username_env, &k.sasl_password_env) {
        (Some(uv), Some(pv)) => {
            let user = p.secret_env(uv, "router.kafka.sasl_username_env");
            let pass = p.secret_env(pv, "router.kafka.sasl_password_env");
            match (user, pass) {
                (Some(u), Some(pw)) => {
                    conn.properties.push(("sasl.username".into(), u));
                    conn.secret_properties.push(("sasl.password".into(), pw));
                }
                _ => ok = false,
            }
        }
        (None, None) => {}
        _ => {
            p.error("router.kafka.sasl_password_env", "sasl_username_env and sasl_password_env go together");
            ok = false;
        }
    }
    if let Some(ca) = &k.ssl_ca_location {
        match p.expand(ca, "router.kafka.ssl_ca_location") {
            Some(ca) => {
                conn.properties.push(("ssl.ca.location".into(), resolve_path(base_dir, &ca).display().to_string()))
            }
            None => ok = false,
        }
    }
    for (key, value) in &k.properties {
        let lower = key.to_ascii_lowercase();
        if lower.contains("password") || lower.contains("secret") || lower.contains("key.pem") {
            p.error(
                format!("router.kafka.properties.{key}"),
                "secrets do not belong in the config file; use sasl_password_env",
            );
            ok = false;
        } else {
            conn.properties.push((key.clone(), value.clone()));
        }
    }
    p.check(k.probe_timeout_secs >= 1, "router.kafka.probe_timeout_secs", "must be at least 1");
    p.check(
        (1..=3600).contains(&k.message_timeout_secs),
        "router.kafka.message_timeout_secs",
        "must be between 1 and 3600",
    );
    ok.then_some(conn)
}

fn check_router(p: &mut Problems, r: &RouterConfig, camera_ids: &HashMap<&str, usize>) {
    let mut names = HashMap::new();
    for (i, d) in r.destinations.iter().enumerate() {
        let at = format!("router.destinations[{i}]");
        if !valid_id(&d.name) {
            p.error(format!("{at}.name"), ID_RULE);
        } else if let Some(first) = names.insert(d.name.as_str(), i) {
            p.error(format!("{at}.name"), format!("`{}` is already the name of router.destinations[{first}]", d.name));
        }
        match d.kind {
            DestinationKind::Kafka => {
                if d.topic.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    p.error(format!("{at}.topic"), "a kafka destination needs a topic");
                }
                if d.encoding == Encoding::JsonLine {
                    p.error(
                        format!("{at}.encoding"),
                        "`json_line` is the local event log's; a kafka destination takes protobuf, cloudevents_structured or cloudevents_binary",
                    );
                }
                if r.kafka.is_none() {
                    p.error(format!("{at}.kind"), "kafka destinations need a [router.kafka] section");
                }
            }
            DestinationKind::Local | DestinationKind::Console => {
                if d.topic.is_some() {
                    p.error(format!("{at}.topic"), "only kafka destinations have a topic");
                }
            }
        }
    }
    for (i, route) in r.routes.iter().enumerate() {
        let at = format!("router.routes[{i}]");
        if route.destinations.is_empty() {
            p.error(format!("{at}.destinations"), "must name at least one destination");
        }
        for (j, dest) in route.destinations.iter().enumerate() {
            if !names.contains_key(dest.as_str()) {
                p.error(
                    format!("{at}.destinations[{j}]"),
                    format!("no destination named `{dest}` in router.destinations"),
                );
            }
        }
        for (j, cam) in route.cameras.iter().enumerate() {
            if !camera_ids.contains_key(cam.as_str()) {
                p.error(format!("{at}.cameras[{j}]"), format!("no camera with id `{cam}`"));
            }
        }
    }
    if !r.destinations.is_empty() && r.routes.is_empty() {
        p.warn("router.routes", "destinations are configured but no route sends anything to them");
    }
    if r.kafka.is_some() && !r.destinations.iter().any(|d| d.kind == DestinationKind::Kafka) {
        p.warn("router.kafka", "configured, but no destination is of kind kafka");
    }
    p.check(r.outbox.max_bytes >= 1024 * 1024, "router.outbox.max_bytes", "must be at least 1 MiB");
}
