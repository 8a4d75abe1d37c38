//! Stage 1: TOML text to typed sections, collecting every error with its path.

use serde::de::DeserializeOwned;

use super::schema::*;
use super::ConfigError;

/// The config as written, before validation: every section that could be read.
/// A section that failed to parse is at its default (or None) and its error is in
/// the list `parse` returns beside it, so validation still checks everything else.
#[derive(Debug, Clone)]
pub struct RawConfig {
    pub service: ServiceConfig,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub detector: Option<DetectorConfig>,
    pub rules: RulesConfig,
    /// With their index in the file, so paths stay right when one failed to parse.
    pub cameras: Vec<(usize, CameraConfig)>,
    pub router: RouterConfig,
    pub console: ConsoleConfig,
    pub cluster: ClusterConfig,
}

const SECTIONS: &str = "service, http, storage, detector, rules, cameras, router, console, cluster";

/// Syntax errors are fatal (nothing can be read); section errors are returned beside
/// what could be read.
pub fn parse(text: &str) -> Result<(RawConfig, Vec<ConfigError>), Vec<ConfigError>> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| vec![ConfigError::new("", format!("not valid TOML: {e}"))])?;
    let mut errors = Vec::new();

    let service = section(&mut table, "service", &mut errors);
    let http = section(&mut table, "http", &mut errors);
    let storage = section(&mut table, "storage", &mut errors);
    let detector: Option<DetectorConfig> = section(&mut table, "detector", &mut errors);
    let had_detector_error = errors.iter().any(|e| e.path.starts_with("detector"));
    if detector.is_none() && !had_detector_error {
        errors.push(ConfigError::new(
            "detector",
            "missing section (at least `model = \"../models/yolov3-tiny-416.toml\"`)",
        ));
    }
    let rules = section(&mut table, "rules", &mut errors);
    let cameras = array(&mut table, "cameras", &mut errors);
    let router = section(&mut table, "router", &mut errors);
    let console = section(&mut table, "console", &mut errors);
    let cluster = section(&mut table, "cluster", &mut errors);

    for key in table.keys() {
        errors.push(ConfigError::new(key.as_str(), format!("unknown section (expected one of: {SECTIONS})")));
    }
    let raw = RawConfig {
        service: service.unwrap_or_default(),
        http: http.unwrap_or_default(),
        storage: storage.unwrap_or_default(),
        detector,
        rules: rules.unwrap_or_default(),
        cameras,
        router: router.unwrap_or_default(),
        console: console.unwrap_or_default(),
        cluster: cluster.unwrap_or_default(),
    };
    Ok((raw, errors))
}

/// Deserializes one value, naming the failing key below `prefix`.
fn deserialize<T: DeserializeOwned>(value: toml::Value, prefix: &str) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner.is_empty() || inner == "." { prefix.to_string() } else { format!("{prefix}.{inner}") };
        // serde_path_to_error writes sequence indices as `.[0]`; keep the familiar `[0]`.
        // toml adds a second line naming the key again ("in `zones`"): the path says it.
        let message = e.into_inner().to_string();
        let message = message.lines().next().unwrap_or_default().to_string();
        ConfigError::new(path.replace(".[", "["), message)
    })
}

fn section<T: DeserializeOwned>(table: &mut toml::Table, key: &str, errors: &mut Vec<ConfigError>) -> Option<T> {
    let value = table.remove(key)?;
    if !value.is_table() {
        errors.push(ConfigError::new(key, format!("must be a table (`[{key}]`)")));
        return None;
    }
    deserialize(value, key).map_err(|e| errors.push(e)).ok()
}

/// Each element on its own, so that every bad camera is reported, not only the first.
fn array<T: DeserializeOwned>(table: &mut toml::Table, key: &str, errors: &mut Vec<ConfigError>) -> Vec<(usize, T)> {
    let Some(value) = table.remove(key) else { return Vec::new() };
    let toml::Value::Array(items) = value else {
        errors.push(ConfigError::new(key, format!("must be an array of tables (`[[{key}]]`)")));
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            deserialize(item, &format!("{key}[{i}]")).map_err(|e| errors.push(e)).ok().map(|v| (i, v))
        })
        .collect()
}
