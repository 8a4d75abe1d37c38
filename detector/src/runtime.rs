//! Loading ONNX Runtime's shared library.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and the library
//! from the pinned PyPI wheel (installed by deploy/setup.sh) is opened at startup.
//! ONNX Runtime allows one environment per process, so it lives in a process-wide slot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;

use crate::DetectorError;

/// File name that deploy/setup.sh links to the pinned library in the cache.
const CACHE_LIBRARY: &str = "lib/libonnxruntime.so";

/// The loaded runtime: the environment sessions are created from, and where it came from.
pub struct OnnxRuntime {
    pub environment: Environment,
    pub library: PathBuf,
    /// ONNX Runtime's own build description (version, commit).
    pub build_info: String,
}

static RUNTIME: Mutex<Option<Arc<OnnxRuntime>>> = Mutex::new(None);

/// Finds the library: the configured path, else `ORT_DYLIB_PATH`, else the setup
/// script's cache (`$STREETWATCH_CACHE` or `~/.cache/streetwatch`).
pub fn resolve_library_path(configured: Option<&Path>) -> Result<PathBuf, DetectorError> {
    let mut tried = Vec::new();
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    if let Some(p) = configured {
        candidates.push(("config".into(), p.to_path_buf()));
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        candidates.push(("ORT_DYLIB_PATH".into(), PathBuf::from(p)));
    }
    if let Some(cache) = default_cache_dir() {
        candidates.push(("setup cache".into(), cache.join(CACHE_LIBRARY)));
    }
    for (origin, path) in candidates {
        if path.is_file() {
            return Ok(path);
        }
        tried.push(format!("{} ({origin})", path.display()));
        // An explicit setting that is wrong is an error, not a reason to look elsewhere.
        if origin == "config" {
            break;
        }
    }
    Err(DetectorError::RuntimeMissing {
        tried: if tried.is_empty() { "no candidate".into() } else { tried.join(", ") },
    })
}

/// The streetwatch cache directory, as deploy/setup.sh uses it.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("STREETWATCH_CACHE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/streetwatch")))
}

/// Loads ONNX Runtime once per process and returns it. Later calls return the same
/// runtime, whatever path they name: a process cannot hold two.
pub fn onnxruntime(configured: Option<&Path>) -> Result<Arc<OnnxRuntime>, DetectorError> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(rt) = slot.as_ref() {
        return Ok(Arc::clone(rt));
    }
    let library = resolve_library_path(configured)?;
    let builder =
        ort::init_from(&library).map_err(|source| DetectorError::RuntimeLoad { path: library.clone(), source })?;
    let environment = builder
        .with_name("streetwatch")
        .build()
        .map_err(|source| DetectorError::RuntimeStart { path: library.clone(), source })?;
    let rt = Arc::new(OnnxRuntime { environment, build_info: ort::info().to_string(), library: library.clone() });
    *slot = Some(Arc::clone(&rt));
    Ok(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_that_does_not_exist_is_named_in_the_error() {
        let e = resolve_library_path(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("/nonexistent/libonnxruntime.so (config)"), "{text}");
        assert!(text.contains("ORT_DYLIB_PATH"), "{text}");
    }
}
