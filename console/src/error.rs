use std::path::PathBuf;

use crate::store::StoreError;

/// What can stop the console from starting. The cause is each variant's source.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console users file {path}")]
    Users {
        path: PathBuf,
        #[source]
        source: UsersError,
    },
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

/// What is wrong with a console users file, or with an edit of it.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    #[error("not a valid users file")]
    Parse(#[source] toml::de::Error),
    #[error("cannot be written as TOML")]
    Serialize(#[source] toml::ser::Error),
    #[error("cannot create its folder")]
    Folder(#[source] std::io::Error),
    #[error("cannot write")]
    Write(#[source] std::io::Error),
    #[error("cannot hash the password")]
    Hash(#[source] argon2::password_hash::Error),
    /// An entry or an argument that breaks a rule of the file: which, and how.
    #[error("{0}")]
    Invalid(String),
}

/// Any error a caller outside the console hands back (a publisher, an object store).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `error` and its causes, outermost first, as one line: "a: b: c". For log lines
/// where the error is not passed on (the binary prints chains with `{:#}`).
pub fn chain(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source()).map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
