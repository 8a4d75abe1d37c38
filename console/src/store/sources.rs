//! What the shared console reads from Kafka: incident and review events, camera
//! status, and where it stands in each topic partition, all stored in one
//! transaction (see migrations/0002_cluster.sql for why the positions live here).

use proto::names::camera_state_name;
use proto::v1::{CameraStatus, Incident};
use rusqlite::{params, OptionalExtension, Transaction};

use super::incident_events::apply_in;
use super::incidents::IncidentRow;
use super::{Store, StoreError};

/// One partition's position: the offset of the next record to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
}

/// A batch read from the topics, to store at once.
#[derive(Debug, Default)]
pub struct SourceBatch {
    pub events: Vec<Incident>,
    /// In the order read.
    pub statuses: Vec<StatusChange>,
    pub positions: Vec<Position>,
}

#[derive(Debug, Clone)]
pub enum StatusChange {
    Set(CameraStatus),
    /// A tombstone on the compacted status topic.
    Removed(String),
    /// A camera in the assignment topic (the cluster's camera list), where it is.
    Assigned {
        camera: String,
        site: String,
        grid: String,
    },
    /// A camera taken out of the assignment topic: gone, with its status.
    Unassigned(String),
}

/// A camera's newest status as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraStatusRow {
    pub camera: String,
    pub site: String,
    pub grid: String,
    pub state: String,
    pub since_ms: i64,
    pub last_error: String,
    pub fps: f64,
    pub worker: String,
    pub reported_at_ms: i64,
    pub heartbeat_interval_ms: i64,
    pub last_frame_ms: i64,
}

impl Store {
    /// Where reading a partition resumes; None: from its beginning.
    pub fn position(&self, topic: &str, partition: i32) -> Result<Option<i64>, StoreError> {
        let conn = self.reader();
        conn.query_row(
            "SELECT next_offset FROM source_positions WHERE topic = ? AND partition = ?",
            params![topic, partition],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)
    }

    /// Stores a batch and the positions after it in one synced transaction; returns
    /// the incidents that changed.
    pub fn apply_batch(&self, batch: &SourceBatch) -> Result<Vec<IncidentRow>, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let rows = apply_in(&tx, &batch.events)?;
        for change in &batch.statuses {
            match change {
                StatusChange::Set(s) => upsert_status(&tx, s),
                StatusChange::Removed(camera) => remove_status(&tx, camera),
                StatusChange::Assigned { camera, site, grid } => tx
                    .execute(
                        "INSERT INTO assigned_cameras (camera, site, grid) VALUES (?, ?, ?) \
                         ON CONFLICT(camera) DO UPDATE SET site = excluded.site, grid = excluded.grid",
                        params![camera, site, grid],
                    )
                    .map(|_| ()),
                StatusChange::Unassigned(camera) => tx
                    .execute("DELETE FROM assigned_cameras WHERE camera = ?", [camera])
                    .and_then(|_| remove_status(&tx, camera)),
            }
            .map_err(|source| StoreError::Record { what: "a camera status", source })?;
        }
        for p in &batch.positions {
            tx.execute(
                "INSERT INTO source_positions (topic, partition, next_offset) VALUES (?, ?, ?) \
                 ON CONFLICT(topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                params![p.topic, p.partition, p.next_offset],
            )
            .map_err(|source| StoreError::Record { what: "a source position", source })?;
        }
        tx.commit()?;
        Ok(rows)
    }

    /// Every camera of the cluster's list with its newest status, by camera id. A
    /// camera no worker has reported on has `reported_at_ms` 0 (stale). Before the
    /// list is known (no assignment read yet), the cameras that reported.
    pub fn camera_statuses(&self) -> Result<Vec<CameraStatusRow>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT a.camera, coalesce(nullif(s.site, ''), a.site), coalesce(nullif(s.grid, ''), a.grid), \
                     coalesce(s.state, 'unspecified'), coalesce(s.since_ms, 0), coalesce(s.last_error, ''), \
                     coalesce(s.fps, 0), coalesce(s.worker, ''), coalesce(s.reported_at_ms, 0), \
                     coalesce(s.heartbeat_interval_ms, 0), coalesce(s.last_frame_ms, 0) \
                 FROM assigned_cameras a LEFT JOIN camera_status s ON s.camera = a.camera \
                 UNION ALL \
                 SELECT camera, site, grid, state, since_ms, last_error, fps, worker, reported_at_ms, \
                     heartbeat_interval_ms, last_frame_ms FROM camera_status \
                 WHERE NOT EXISTS (SELECT 1 FROM assigned_cameras) \
                 ORDER BY 1",
        )?;
        stmt.query_map([], |r| {
            Ok(CameraStatusRow {
                camera: r.get(0)?,
                site: r.get(1)?,
                grid: r.get(2)?,
                state: r.get(3)?,
                since_ms: r.get(4)?,
                last_error: r.get(5)?,
                fps: r.get(6)?,
                worker: r.get(7)?,
                reported_at_ms: r.get(8)?,
                heartbeat_interval_ms: r.get(9)?,
                last_frame_ms: r.get(10)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::from)
    }
}

/// The newest status per camera. One camera's records share a partition (keyed by
/// camera id), so they arrive in order; an older record read again after a rewind
/// (`reported_at_ms` below the stored one) changes nothing.
fn upsert_status(tx: &Transaction<'_>, s: &CameraStatus) -> rusqlite::Result<()> {
    let camera = s.camera.clone().unwrap_or_default();
    if camera.camera_id.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO camera_status (camera, site, grid, state, since_ms, last_error, fps, worker, reported_at_ms, \
             heartbeat_interval_ms, last_frame_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(camera) DO UPDATE SET site = excluded.site, grid = excluded.grid, state = excluded.state, \
             since_ms = excluded.since_ms, last_error = excluded.last_error, fps = excluded.fps, \
             worker = excluded.worker, reported_at_ms = excluded.reported_at_ms, \
             heartbeat_interval_ms = excluded.heartbeat_interval_ms, last_frame_ms = excluded.last_frame_ms \
         WHERE excluded.reported_at_ms >= camera_status.reported_at_ms",
        params![
            camera.camera_id,
            camera.site,
            camera.grid,
            camera_state_name(s.state),
            s.since_ms,
            s.last_error,
            f64::from(s.measured_fps),
            s.worker,
            s.reported_at_ms,
            i64::from(s.heartbeat_interval_ms),
            s.last_frame_ms
        ],
    )?;
    Ok(())
}

/// Removes a camera's status (a tombstone on the compacted topic: the camera is gone).
fn remove_status(tx: &Transaction<'_>, camera: &str) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM camera_status WHERE camera = ?", [camera])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::v1::{CameraRef, CameraState, IncidentKind, OperatorReview, Phase, ReviewAction};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        (dir, store)
    }

    fn incident(id: &str, phase: Phase, revision: u64, summary: &str) -> Incident {
        Incident {
            id: id.into(),
            kind: IncidentKind::SidewalkParking as i32,
            phase: phase as i32,
            revision,
            camera: Some(CameraRef { camera_id: "cam-1".into(), site: "north".into(), ..Default::default() }),
            started_at_ms: 1_000,
            updated_at_ms: 1_000 + revision as i64,
            summary: summary.into(),
            ..Default::default()
        }
    }

    fn status(camera: &str, state: CameraState, at: i64) -> CameraStatus {
        CameraStatus {
            camera: Some(CameraRef { camera_id: camera.into(), ..Default::default() }),
            state: state as i32,
            reported_at_ms: at,
            worker: format!("w-{at}"),
            ..Default::default()
        }
    }

    #[test]
    fn positions_move_with_their_batch_and_never_back() {
        let (_d, s) = store();
        assert_eq!(s.position("t", 0).unwrap(), None);
        let at = |n| Position { topic: "t".into(), partition: 0, next_offset: n };
        s.apply_batch(&SourceBatch { positions: vec![at(7)], ..Default::default() }).unwrap();
        s.apply_batch(&SourceBatch { positions: vec![at(3)], ..Default::default() }).unwrap();
        assert_eq!(s.position("t", 0).unwrap(), Some(7));
        assert_eq!(s.position("t", 1).unwrap(), None);
    }

    #[test]
    fn duplicates_and_older_revisions_change_nothing() {
        let (_d, s) = store();
        let batch = |events| SourceBatch { events, ..Default::default() };
        s.apply_batch(&batch(vec![incident("i1", Phase::Started, 1, "one"), incident("i1", Phase::Updated, 2, "two")]))
            .unwrap();
        // At-least-once: both again, the older one last.
        let again = s
            .apply_batch(&batch(vec![
                incident("i1", Phase::Updated, 2, "two"),
                incident("i1", Phase::Started, 1, "one"),
            ]))
            .unwrap();
        assert!(again.is_empty(), "a redelivery changed {again:?}");
        let row = s.incident("i1").unwrap().unwrap();
        assert_eq!((row.revision, row.summary.as_str()), (2, "two"));
        assert_eq!(s.incident_count().unwrap(), 1);
        assert_eq!(s.detail("i1").unwrap().unwrap().timeline.len(), 2);
    }

    #[test]
    fn a_decision_read_before_its_incident_is_kept() {
        let (_d, s) = store();
        let mut review = incident("i2", Phase::Reviewed, 1, "one");
        review.review = Some(OperatorReview {
            review_id: "r-1".into(),
            action: ReviewAction::Acknowledged as i32,
            operator: "li".into(),
            note: String::new(),
            reviewed_at_ms: 5_000,
        });
        s.apply_batch(&SourceBatch { events: vec![review], ..Default::default() }).unwrap();
        s.apply_batch(&SourceBatch {
            events: vec![incident("i2", Phase::Started, 1, "one"), incident("i2", Phase::Updated, 2, "two")],
            ..Default::default()
        })
        .unwrap();
        let row = s.incident("i2").unwrap().unwrap();
        assert_eq!((row.review.as_str(), row.revision, row.phase.as_str()), ("acknowledged", 2, "open"));
        let timeline = s.detail("i2").unwrap().unwrap().timeline;
        let phases: Vec<&str> = timeline.iter().map(|t| t.phase.as_str()).collect();
        assert_eq!(phases, ["REVIEWED", "STARTED", "UPDATED"]);
    }

    #[test]
    fn a_camera_keeps_its_newest_status() {
        let (_d, s) = store();
        let batch = |statuses| SourceBatch { statuses, ..Default::default() };
        let set = |c, state, at| StatusChange::Set(status(c, state, at));
        s.apply_batch(&batch(vec![set("c", CameraState::Streaming, 10), set("c", CameraState::Stalled, 20)])).unwrap();
        s.apply_batch(&batch(vec![set("c", CameraState::Streaming, 15), set("d", CameraState::Streaming, 1)])).unwrap();
        let rows = s.camera_statuses().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].state.as_str(), rows[0].reported_at_ms, rows[0].worker.as_str()), ("stalled", 20, "w-20"));
        s.apply_batch(&batch(vec![StatusChange::Removed("d".into())])).unwrap();
        assert_eq!(s.camera_statuses().unwrap().len(), 1);
        // Once the camera list is known it decides: a listed camera without status
        // shows (never reported), an unlisted one with a status does not.
        let assigned = |c: &str| StatusChange::Assigned { camera: c.into(), site: "north".into(), grid: String::new() };
        s.apply_batch(&batch(vec![assigned("e"), assigned("c")])).unwrap();
        let rows = s.camera_statuses().unwrap();
        let ids: Vec<(&str, i64, &str)> =
            rows.iter().map(|r| (r.camera.as_str(), r.reported_at_ms, r.site.as_str())).collect();
        assert_eq!(ids, [("c", 20, "north"), ("e", 0, "north")]);
        s.apply_batch(&batch(vec![StatusChange::Unassigned("c".into())])).unwrap();
        let rows = s.camera_statuses().unwrap();
        assert_eq!(rows.iter().map(|r| r.camera.as_str()).collect::<Vec<_>>(), ["e"]);
    }
}
