//! What can go wrong in the console's database. The cause is the error's source
//! (print the chain, as `{:#}` does in the binary), never flattened into a string.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused a statement: disk full, locked past the busy timeout, a damaged file.
    #[error("SQLite refused a statement")]
    Sqlite(#[from] rusqlite::Error),
    #[error("schema migration {name} failed")]
    Migration {
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "schema version {found} is newer than this streetwatch knows ({known}); was it opened by a newer release?"
    )]
    NewerSchema { found: i64, known: i64 },
    /// An event stored by this console (or one from the topics) does not decode:
    /// the file was changed by something else.
    #[error("a stored event is not a streetwatch.v1.Incident")]
    Decode(#[from] prost::DecodeError),
    #[error("incident {id} could not be stored")]
    Incident {
        id: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{what} could not be stored")]
    Record {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A feed query's parameters from the browser (answered 400, not 500).
    #[error("unknown state `{0}`")]
    UnknownState(String),
    #[error("bad cursor `{0}`")]
    BadCursor(String),
}
