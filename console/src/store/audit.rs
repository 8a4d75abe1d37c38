//! The audit log: every login (and failed login), logout and operator decision.
//! Written to the database and, at the same time, as an `audit` log line.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{Store, StoreError};

/// Who did what, from where.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEntry {
    pub user: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub remote: String,
    pub outcome: String,
}

/// An entry as stored: numbered and timed.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at_ms: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditEntry {
    pub(super) fn insert(&self, conn: &Connection, at_ms: i64) -> rusqlite::Result<()> {
        let outcome = if self.outcome.is_empty() { "ok" } else { self.outcome.as_str() };
        conn.execute(
            "INSERT INTO audit_log (at_ms, user, role, action, target, detail, remote, outcome) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![at_ms, self.user, self.role, self.action, self.target, self.detail, self.remote, outcome],
        )?;
        // User-typed text (names, notes) quoted and escaped: a newline or a terminal
        // escape in it cannot forge or hide a log line.
        tracing::info!(target: "audit", user = ?self.user, role = %self.role, action = %self.action,
            incident = ?self.target, remote = %self.remote, outcome = %outcome, "{:?}", self.detail);
        Ok(())
    }
}

impl Store {
    pub fn audit(&self, entry: &AuditEntry, at_ms: i64) -> Result<(), StoreError> {
        let conn = self.writer();
        entry.insert(&conn, at_ms).map_err(StoreError::from)
    }

    /// The newest audit records first, older than `before_id` when given.
    pub fn audit_page(&self, before_id: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at_ms, user, role, action, target, detail, remote, outcome FROM audit_log \
                 WHERE id < ? ORDER BY id DESC LIMIT ?",
        )?;
        stmt.query_map(params![before_id.unwrap_or(i64::MAX), limit.clamp(1, 500) as i64], |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                entry: AuditEntry {
                    user: r.get(2)?,
                    role: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    detail: r.get(6)?,
                    remote: r.get(7)?,
                    outcome: r.get(8)?,
                },
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::from)
    }
}
