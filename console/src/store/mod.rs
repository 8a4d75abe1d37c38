//! The console's embedded database (SQLite): incidents and their timelines, operator
//! decisions, the audit log and login sessions. One writer connection and one reader
//! connection (WAL lets reads go on while a write commits). Commits are synced
//! (`synchronous = FULL`): the router marks an event delivered to the console only
//! after its commit, so a crash or power loss never loses an incident.

mod audit;
mod error;
mod incident_events;
mod incidents;
mod migrations;
mod reviews;
mod sessions;
mod sources;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

pub use audit::{AuditEntry, AuditRecord};
pub use error::StoreError;
pub use incidents::{parse_before, FeedFilter, IncidentDetail, IncidentRow, Page, TimelineEntry};
pub use reviews::{ReviewAction, ReviewError, ReviewOutcome};
pub use sessions::Session;
pub use sources::{CameraStatusRow, Position, SourceBatch, StatusChange};

use crate::error::ConsoleError;

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Opens (creating when missing) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, ConsoleError> {
        let fail = |source: StoreError| ConsoleError::Database { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| ConsoleError::DatabaseFolder { path: dir.to_path_buf(), source })?;
        }
        let open = || -> Result<Connection, StoreError> {
            let c = Connection::open(path)?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "FULL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(c)
        };
        let mut writer = open().map_err(fail)?;
        migrations::migrate(&mut writer).map_err(fail)?;
        let reader = open().map_err(fail)?;
        Ok(Store { path: path.to_path_buf(), writer: Mutex::new(writer), reader: Mutex::new(reader) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
