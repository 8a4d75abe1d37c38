use std::path::PathBuf;

use crate::store::StoreError;

/// What can stop the console from starting. The cause is each variant's source.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console users file {path}: {reason}")]
    Users { path: PathBuf, reason: String },
    #[error("console database {path}")]
    Database {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("console database folder {path} cannot be created")]
    DatabaseFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("console: cannot listen on {address}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// Any error a caller outside the console hands back (a publisher, an object store).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `error` and its causes, outermost first, as one line: "a: b: c". For log lines
/// where the error is not passed on (the binary prints chains with `{:#}`).
pub fn chain(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source()).map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
