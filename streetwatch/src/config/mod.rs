//! Configuration: one TOML file, read in three stages.
//!
//! 1. `parse`: TOML syntax, then each section (and each camera) deserialized on its
//!    own with `deny_unknown_fields`, so one bad camera does not hide the errors of the
//!    next one. Every error carries its path (`cameras[2].zones[0].polygon`).
//! 2. `validate`: meaning (ranges, references, geometry, environment variables,
//!    files), again collecting every error.
//! 3. `domain`: what validate checked, in the libraries' own settings types (the
//!    validated `Config` holds those, not strings to parse again).
//!
//! See docs/config.md for the reference of every key.

mod domain;
mod errors;
mod expand;
mod parse;
pub mod schema;
mod validate;

use std::path::{Path, PathBuf};

pub use errors::{ConfigError, ConfigErrors};
pub use expand::expand as expand_env;
pub use validate::{Camera, Config, S3Settings};

/// Reads, parses and validates a config file, reporting every problem at once.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigErrors::single(path, "", format!("cannot read file: {e}")))?;
    load_str(&text, path)
}

/// As `load`, with the `[[cameras]]` of `cameras_file` instead of the config's own
/// (a cluster worker's share, written by `streetwatch worker`). Relative paths stay
/// relative to the config file.
pub fn load_with_cameras(path: &Path, cameras_file: &Path) -> Result<Config, ConfigErrors> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| ConfigErrors::single(p, "", format!("cannot read file: {e}")))
    };
    load_str_with_cameras(&read(path)?, path, &read(cameras_file)?, cameras_file)
}

/// As `load_with_cameras`, for texts already read.
pub fn load_str_with_cameras(
    text: &str,
    path: &Path,
    cameras_text: &str,
    cameras_file: &Path,
) -> Result<Config, ConfigErrors> {
    let parse = |p: &Path, text: &str| {
        toml::from_str::<toml::Table>(text).map_err(|e| ConfigErrors::single(p, "", format!("not valid TOML: {e}")))
    };
    let mut config = parse(path, text)?;
    let mut cameras = parse(cameras_file, cameras_text)?;
    match cameras.remove("cameras") {
        Some(list) => config.insert("cameras".into(), list),
        None => config.remove("cameras"),
    };
    let text = toml::to_string(&config).map_err(|e| ConfigErrors::single(path, "", e.to_string()))?;
    load_str(&text, path)
}

/// As `load`, for text already read; `path` is used for messages and relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let (raw, parse_errors) = parse::parse(text).map_err(|errors| ConfigErrors { file: path.to_path_buf(), errors })?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    validate::validate(raw, parse_errors, path, &base_dir)
        .map_err(|errors| ConfigErrors { file: path.to_path_buf(), errors })
}
