//! Events coming in, in delivery order, inside one transaction: the pipeline's
//! STARTED / UPDATED / ENDED (each stored once: delivery is at-least-once) and the
//! operators' REVIEWED. Apart from `incidents.rs` (the rows and the feed's queries)
//! and `reviews.rs` (decisions), which both stay unaware of this dispatch.

use proto::names::phase_name;
use proto::v1::{Incident, Phase};
use rusqlite::{params, Transaction};

use super::incidents::{load_row, objects_json, upsert_incident, IncidentRow};
use super::{Store, StoreError};

impl Store {
    /// Stores pipeline and operator events (in delivery order) in one transaction;
    /// returns the incidents that changed, as the feed shows them now. Events seen
    /// before (redelivery) change nothing.
    pub fn apply_events(&self, events: &[Incident]) -> Result<Vec<IncidentRow>, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let rows = apply_in(&tx, events)?;
        tx.commit()?;
        Ok(rows)
    }
}

/// Applies events inside a transaction the caller commits; returns the changed
/// incidents as they are now.
pub(crate) fn apply_in(tx: &Transaction<'_>, events: &[Incident]) -> Result<Vec<IncidentRow>, StoreError> {
    let mut changed: Vec<String> = Vec::new();
    for ev in events {
        let applied = if ev.phase == Phase::Reviewed as i32 {
            super::reviews::apply_review_event(tx, ev)
        } else {
            apply_pipeline_event(tx, ev)
        }
        .map_err(|source| StoreError::Incident { id: ev.id.clone(), source })?;
        if applied && !changed.contains(&ev.id) {
            changed.push(ev.id.clone());
        }
    }
    let rows = changed.iter().map(|id| load_row(tx, id)).collect::<rusqlite::Result<Vec<_>>>();
    Ok(rows?.into_iter().flatten().collect())
}

/// A STARTED, UPDATED or ENDED event. False when it was stored before.
fn apply_pipeline_event(tx: &Transaction<'_>, ev: &Incident) -> rusqlite::Result<bool> {
    let dedupe = format!("{}/r{}", ev.id, ev.revision);
    let objects = objects_json(ev).to_string();
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO incident_events \
         (incident_id, phase, revision, dedupe_key, at_ms, cause, summary, dwell_secs, object_count, objects) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            ev.id,
            phase_name(ev.phase),
            ev.revision as i64,
            dedupe,
            ev.updated_at_ms,
            ev.cause,
            ev.summary,
            ev.dwell_secs,
            ev.object_count as i64,
            objects
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    upsert_incident(tx, ev, tx.last_insert_rowid())?;
    Ok(true)
}
