use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console users file {path}: {reason}")]
    Users { path: PathBuf, reason: String },
    #[error("console database {path}: {reason}")]
    Database { path: PathBuf, reason: String },
    #[error("console: cannot listen on {address}: {reason}")]
    Listen { address: String, reason: String },
}
