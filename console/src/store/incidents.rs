//! Incidents as the feed and the detail page read them: the rows, the queries, and
//! the upsert that events coming in (`incident_events.rs`) make rows with.

use prost::Message;
use proto::names::{kind_name, severity_name};
use proto::v1::{Incident, Phase};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;

use super::{Store, StoreError};
use crate::users::District;

/// One incident as the feed shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncidentRow {
    pub id: String,
    pub seq: i64,
    pub kind: String,
    /// `open` or `ended` (the pipeline's view).
    pub phase: String,
    /// `new`, `acknowledged`, `dismissed` or `resolved` (the operators' view).
    pub review: String,
    pub camera: String,
    pub zone_id: String,
    pub zone_name: String,
    pub severity: String,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub dwell_secs: f64,
    pub object_count: i64,
    pub summary: String,
    pub has_snapshot: bool,
    pub has_clip: bool,
    pub revision: i64,
    /// Where it happened (the camera's site and grid): what districts are made of.
    pub site: String,
    pub grid: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub seq: i64,
    pub phase: String,
    pub revision: i64,
    pub at_ms: i64,
    pub cause: String,
    pub summary: String,
    pub dwell_secs: f64,
    pub object_count: i64,
    pub objects: serde_json::Value,
    pub action: Option<String>,
    pub operator: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    pub incident: IncidentRow,
    pub timeline: Vec<TimelineEntry>,
    /// The newest pipeline event's objects: class, score, box (normalised x, y, w, h).
    pub objects: serde_json::Value,
}

/// Feed filters; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    pub kind: Option<String>,
    pub camera: Option<String>,
    pub zone: Option<String>,
    /// `open`, `ended`, or a review state (`new`, `acknowledged`, `dismissed`, `resolved`).
    pub state: Option<String>,
}

/// Camera ids, and zones as (id, name).
pub type FilterChoices = (Vec<String>, Vec<(String, String)>);

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub items: Vec<IncidentRow>,
    /// Pass as `before` for the next (older) page; None at the end.
    pub next: Option<String>,
    /// The newest event sequence when the page was read: a live stream opened with
    /// `since` = this misses nothing.
    pub seq: i64,
}

pub(crate) const ROW_COLUMNS: &str = "id, last_seq, kind, phase, review, camera, zone_id, zone_name, severity, \
     started_at_ms, updated_at_ms, ended_at_ms, dwell_secs, object_count, summary, snapshot_uri, clip_uri, revision, site, grid";

pub(crate) fn row(r: &Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.get(0)?,
        seq: r.get(1)?,
        kind: r.get(2)?,
        phase: r.get(3)?,
        review: r.get(4)?,
        camera: r.get(5)?,
        zone_id: r.get(6)?,
        zone_name: r.get(7)?,
        severity: r.get(8)?,
        started_at_ms: r.get(9)?,
        updated_at_ms: r.get(10)?,
        ended_at_ms: r.get(11)?,
        dwell_secs: r.get(12)?,
        object_count: r.get(13)?,
        summary: r.get(14)?,
        has_snapshot: !r.get::<_, String>(15)?.is_empty(),
        has_clip: !r.get::<_, String>(16)?.is_empty(),
        revision: r.get(17)?,
        site: r.get(18)?,
        grid: r.get(19)?,
    })
}

pub(crate) fn objects_json(i: &Incident) -> serde_json::Value {
    serde_json::Value::Array(
        i.objects
            .iter()
            .map(|o| {
                let b = o.r#box.unwrap_or_default();
                serde_json::json!({"class": o.class_name, "score": o.score, "box": [b.x, b.y, b.width, b.height]})
            })
            .collect(),
    )
}

/// The cursor of a row: its start time and id (ids sort by start within a time).
fn cursor_of(r: &IncidentRow) -> String {
    format!("{}_{}", r.started_at_ms, r.id)
}

/// `before` as the feed passes it back: `<started_at_ms>_<id>`.
pub fn parse_before(s: &str) -> Option<(i64, String)> {
    let (t, id) = s.split_once('_')?;
    Some((t.parse().ok()?, id.to_string()))
}

impl Store {
    /// A page of the feed, newest first.
    pub fn page(
        &self,
        filter: &FeedFilter,
        district: &District,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let limit = limit.clamp(1, 500);
        let (sql, args) = page_query(filter, district, before, limit)?;
        let conn = self.reader();
        let seq: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM incident_events", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut items = stmt
            .query_map(rusqlite::params_from_iter(args), row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor_of)
        } else {
            None
        };
        Ok(Page { items, next, seq })
    }

    /// Incidents changed after event `after_seq`, oldest change first, at most `limit`
    /// (the caller asks for one more than it will send, to know when to give up and
    /// tell the browser to reload instead).
    pub fn changed_since(&self, after_seq: i64, limit: usize) -> Result<Vec<IncidentRow>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM incidents WHERE last_seq > ? ORDER BY last_seq LIMIT ?"
        ))?;
        stmt.query_map(params![after_seq, limit as i64], row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(StoreError::from)
    }

    pub fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError> {
        let conn = self.reader();
        load_row(&conn, id).map_err(StoreError::from)
    }

    /// The incident, its timeline (oldest first) and its objects.
    pub fn detail(&self, id: &str) -> Result<Option<IncidentDetail>, StoreError> {
        let conn = self.reader();
        let Some(incident) = load_row(&conn, id)? else { return Ok(None) };
        let latest: Vec<u8> = conn.query_row("SELECT latest FROM incidents WHERE id = ?", [id], |r| r.get(0))?;
        let objects = Incident::decode(latest.as_slice()).map(|i| objects_json(&i)).unwrap_or_default();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, phase, revision, at_ms, cause, summary, dwell_secs, object_count, objects, action, operator, note \
                 FROM incident_events WHERE incident_id = ? ORDER BY seq",
            )
            ?;
        let timeline = stmt
            .query_map([id], |r| {
                Ok(TimelineEntry {
                    seq: r.get(0)?,
                    phase: r.get(1)?,
                    revision: r.get(2)?,
                    at_ms: r.get(3)?,
                    cause: r.get(4)?,
                    summary: r.get(5)?,
                    dwell_secs: r.get(6)?,
                    object_count: r.get(7)?,
                    objects: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                    action: r.get(9)?,
                    operator: r.get(10)?,
                    note: r.get(11)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())?;
        Ok(Some(IncidentDetail { incident, timeline, objects }))
    }

    /// Evidence of an incident: (snapshot uri, clip uri), empty when none.
    pub fn evidence(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        let conn = self.reader();
        conn.query_row("SELECT snapshot_uri, clip_uri FROM incidents WHERE id = ?", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(StoreError::from)
    }

    /// Cameras and zones (id, name) that incidents name: the feed's filter choices.
    pub fn filter_choices(&self, district: &District) -> Result<FilterChoices, StoreError> {
        let conn = self.reader();
        let (mut where_, mut args) = (String::from(" WHERE 1=1"), Vec::new());
        district_clause(district, &mut where_, &mut args);
        let cameras = conn
            .prepare_cached(&format!("SELECT DISTINCT camera FROM incidents{where_} ORDER BY camera"))
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })?;
        let zones = conn
            .prepare_cached(&format!(
                "SELECT zone_id, max(zone_name) FROM incidents{where_} GROUP BY zone_id ORDER BY zone_id"
            ))
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })?;
        Ok((cameras, zones))
    }

    pub fn incident_count(&self) -> Result<i64, StoreError> {
        let conn = self.reader();
        conn.query_row("SELECT count(*) FROM incidents", [], |r| r.get(0)).map_err(StoreError::from)
    }
}

/// The feed query: every filter has an index that also gives the order, so a page
/// reads about `limit` rows however many incidents there are (tested below with
/// SQLite's query planner).
fn page_query(
    filter: &FeedFilter,
    district: &District,
    before: Option<&str>,
    limit: usize,
) -> Result<(String, Vec<rusqlite::types::Value>), StoreError> {
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM incidents WHERE 1=1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    district_clause(district, &mut sql, &mut args);
    let mut add = |clause: &str, v: rusqlite::types::Value| {
        sql.push_str(clause);
        args.push(v);
    };
    if let Some(k) = &filter.kind {
        add(" AND kind = ?", k.clone().into());
    }
    if let Some(c) = &filter.camera {
        add(" AND camera = ?", c.clone().into());
    }
    if let Some(z) = &filter.zone {
        add(" AND zone_id = ?", z.clone().into());
    }
    match filter.state.as_deref() {
        Some(s @ ("open" | "ended")) => add(" AND phase = ?", s.to_string().into()),
        Some(s @ ("new" | "acknowledged" | "dismissed" | "resolved")) => add(" AND review = ?", s.to_string().into()),
        Some(other) => return Err(StoreError::UnknownState(other.to_string())),
        None => {}
    }
    if let Some(b) = before {
        let (t, id) = parse_before(b).ok_or_else(|| StoreError::BadCursor(b.to_string()))?;
        sql.push_str(" AND (started_at_ms, id) < (?, ?)");
        args.push(t.into());
        args.push(id.into());
    }
    sql.push_str(" ORDER BY started_at_ms DESC, id DESC LIMIT ?");
    args.push(((limit + 1) as i64).into());
    Ok((sql, args))
}

/// ` AND (site IN (..) OR grid IN (..))` for a district (nothing for the whole city).
/// A restricted account's feed reads the same index in feed order and skips what is
/// outside its district.
fn district_clause(district: &District, sql: &mut String, args: &mut Vec<rusqlite::types::Value>) {
    if district.is_whole_city() {
        return;
    }
    let list = |n: usize| vec!["?"; n].join(", ");
    sql.push_str(&format!(
        " AND (site IN ({}) OR grid IN ({}))",
        list(district.sites.len()),
        list(district.grids.len())
    ));
    if district.nothing {
        sql.push_str(" AND 0");
    }
    args.extend(district.sites.iter().map(|s| s.clone().into()));
    args.extend(district.grids.iter().map(|g| g.clone().into()));
}

pub(crate) fn load_row(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<IncidentRow>> {
    conn.prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM incidents WHERE id = ?"))?.query_row([id], row).optional()
}

/// The incident's row from an event's full state (`seq`: the event's timeline entry).
/// A REVIEWED event also carries the full state: a decision read before its
/// incident (the reviews and incidents topics are read side by side) creates the row.
pub(crate) fn upsert_incident(tx: &Transaction<'_>, ev: &Incident, seq: i64) -> rusqlite::Result<()> {
    let camera = ev.camera.clone().unwrap_or_default();
    let zone = ev.zone.clone().unwrap_or_default();
    let evidence = ev.evidence.clone().unwrap_or_default();
    let ended = ev.phase == Phase::Ended as i32 || ev.ended_at_ms.is_some();
    let phase = if ended { "ended" } else { "open" };
    let latest = ev.encode_to_vec();
    // A redelivered older revision after a newer one only adds its timeline entry.
    tx.execute(
        "INSERT INTO incidents (id, last_seq, kind, phase, camera, zone_id, zone_name, severity, started_at_ms, \
             updated_at_ms, ended_at_ms, dwell_secs, object_count, summary, snapshot_uri, clip_uri, revision, latest, \
             site, grid) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) \
         ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, \
             phase = CASE WHEN excluded.revision >= revision THEN excluded.phase ELSE phase END, \
             severity = CASE WHEN excluded.revision >= revision THEN excluded.severity ELSE severity END, \
             updated_at_ms = max(updated_at_ms, excluded.updated_at_ms), \
             ended_at_ms = coalesce(excluded.ended_at_ms, ended_at_ms), \
             dwell_secs = CASE WHEN excluded.revision >= revision THEN excluded.dwell_secs ELSE dwell_secs END, \
             object_count = CASE WHEN excluded.revision >= revision THEN excluded.object_count ELSE object_count END, \
             summary = CASE WHEN excluded.revision >= revision THEN excluded.summary ELSE summary END, \
             snapshot_uri = CASE WHEN excluded.snapshot_uri != '' AND excluded.revision >= revision \
                 THEN excluded.snapshot_uri ELSE snapshot_uri END, \
             clip_uri = CASE WHEN clip_uri = '' THEN excluded.clip_uri ELSE clip_uri END, \
             latest = CASE WHEN excluded.revision >= revision THEN excluded.latest ELSE latest END, \
             revision = max(revision, excluded.revision)",
        params![
            ev.id,
            seq,
            kind_name(ev.kind),
            phase,
            camera.camera_id,
            zone.zone_id,
            zone.name,
            severity_name(ev.severity),
            ev.started_at_ms,
            ev.updated_at_ms,
            ev.ended_at_ms,
            ev.dwell_secs,
            ev.object_count as i64,
            ev.summary,
            evidence.snapshot_uri,
            evidence.clip_uri,
            ev.revision as i64,
            latest,
            camera.site,
            camera.grid
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(store: &Store, filter: &FeedFilter, before: Option<&str>) -> String {
        plan_in(store, filter, &District::default(), before)
    }

    fn plan_in(store: &Store, filter: &FeedFilter, district: &District, before: Option<&str>) -> String {
        let (sql, args) = page_query(filter, district, before, 50).unwrap();
        let conn = store.reader();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
    }

    #[test]
    fn every_feed_query_reads_an_index_in_feed_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        let s = |v: &str| Some(v.to_string());
        let filters = [
            FeedFilter::default(),
            FeedFilter { kind: s("bike_cluster"), ..Default::default() },
            FeedFilter { camera: s("cam-1"), ..Default::default() },
            FeedFilter { zone: s("z"), ..Default::default() },
            FeedFilter { state: s("open"), ..Default::default() },
            FeedFilter { state: s("new"), ..Default::default() },
            FeedFilter { kind: s("bike_cluster"), state: s("new"), camera: s("cam-1"), ..Default::default() },
        ];
        for f in &filters {
            for before in [None, Some("1764000000000_0190")] {
                let p = plan(&store, f, before);
                assert!(p.contains("USING INDEX") || p.contains("USING COVERING INDEX"), "{f:?} {before:?}: {p}");
                assert!(!p.contains("TEMP B-TREE"), "{f:?} {before:?} sorts instead of reading in order: {p}");
            }
        }
        // A district's feed reads in feed order too (and skips other districts' rows).
        let north = District { sites: vec!["north".into()], grids: vec!["g1".into()], nothing: false };
        let p = plan_in(&store, &FeedFilter::default(), &north, Some("1764000000000_0190"));
        assert!(!p.contains("TEMP B-TREE"), "a district's feed sorts: {p}");
    }
}
