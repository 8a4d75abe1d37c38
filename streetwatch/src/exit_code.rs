//! Process exit codes. Documented in README.md ("Exit codes"); scripts depend on them.

/// Success.
pub const OK: i32 = 0;
/// A failure while running (a component could not start or failed for good).
pub const RUNTIME_FAILURE: i32 = 1;
/// Bad command line (clap's own code).
pub const USAGE: i32 = 2;
/// The config file is missing, not valid TOML, or fails validation.
pub const CONFIG_INVALID: i32 = 3;
/// `validate`, or `run` at startup: the config is fine but an environment check
/// failed (model file, sha256, ONNX Runtime, model inputs/outputs, broker).
pub const CHECK_FAILED: i32 = 4;
/// Graceful shutdown did not finish within `service.shutdown_deadline_secs`.
pub const SHUTDOWN_TIMEOUT: i32 = 5;
/// An input file could not be analysed (not a video, truncated, an unsupported
/// codec): `replay`, or `run` whose file cameras all ended and one of them failed.
pub const INPUT_FAILED: i32 = 6;
/// A second SIGINT/SIGTERM arrived during graceful shutdown (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
