//! Operator decisions: acknowledge, dismiss (a false alarm, with the reason) and
//! resolve. Each is stored with its audit record in one transaction, and becomes a
//! REVIEWED event for the router (the case-processing centre sees decisions too).

use prost::Message;
use proto::v1::{Incident, OperatorReview, Phase};
use rusqlite::{params, Transaction};

use super::incidents::{load_row, IncidentRow};
use super::{AuditEntry, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    Acknowledge,
    Dismiss,
    Resolve,
}

impl ReviewAction {
    pub fn parse(s: &str) -> Option<ReviewAction> {
        match s {
            "acknowledge" => Some(ReviewAction::Acknowledge),
            "dismiss" => Some(ReviewAction::Dismiss),
            "resolve" => Some(ReviewAction::Resolve),
            _ => None,
        }
    }

    /// The incident's review state after this action.
    pub fn state(self) -> &'static str {
        match self {
            ReviewAction::Acknowledge => "acknowledged",
            ReviewAction::Dismiss => "dismissed",
            ReviewAction::Resolve => "resolved",
        }
    }

    fn wire(self) -> proto::v1::ReviewAction {
        match self {
            ReviewAction::Acknowledge => proto::v1::ReviewAction::Acknowledged,
            ReviewAction::Dismiss => proto::v1::ReviewAction::Dismissed,
            ReviewAction::Resolve => proto::v1::ReviewAction::Resolved,
        }
    }

    /// Whether an incident in review state `from` can take this action: acknowledge
    /// a new one; dismiss or resolve one not yet closed. Closed is final.
    fn allowed_from(self, from: &str) -> bool {
        match self {
            ReviewAction::Acknowledge => from == "new",
            ReviewAction::Dismiss | ReviewAction::Resolve => matches!(from, "new" | "acknowledged"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such incident")]
    NotFound,
    /// The incident is already in this state (another operator was quicker).
    #[error("the incident is already {state}")]
    Conflict { state: String },
    #[error("dismissing as a false alarm needs a reason")]
    NoteRequired,
    #[error(transparent)]
    Storage(#[from] StoreError),
}

pub struct ReviewOutcome {
    pub incident: IncidentRow,
    /// The REVIEWED event, for the router.
    pub event: Incident,
}

impl Store {
    /// Records an operator's decision about incident `id`, with its audit record,
    /// atomically; returns the incident as it is now and the REVIEWED event.
    pub fn record_review(
        &self,
        id: &str,
        action: ReviewAction,
        note: &str,
        who: &AuditEntry,
        now_ms: i64,
    ) -> Result<ReviewOutcome, ReviewError> {
        let note = note.trim();
        if action == ReviewAction::Dismiss && note.is_empty() {
            return Err(ReviewError::NoteRequired);
        }
        let mut conn = self.writer();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let current = load_row(&tx, id).map_err(StoreError::from)?.ok_or(ReviewError::NotFound)?;
        if !action.allowed_from(&current.review) {
            return Err(ReviewError::Conflict { state: current.review });
        }
        let latest: Vec<u8> =
            tx.query_row("SELECT latest FROM incidents WHERE id = ?", [id], |r| r.get(0)).map_err(StoreError::from)?;
        let mut event = Incident::decode(latest.as_slice()).map_err(StoreError::from)?;
        event.phase = Phase::Reviewed as i32;
        event.cause = "operator".into();
        event.review = Some(OperatorReview {
            review_id: uuid::Uuid::now_v7().to_string(),
            action: action.wire() as i32,
            operator: who.user.clone(),
            note: note.to_string(),
            reviewed_at_ms: now_ms,
        });
        insert_review(&tx, &event).map_err(StoreError::from)?;
        let audit = AuditEntry {
            action: format!("incident.{}", action_verb(action)),
            target: id.into(),
            detail: note.into(),
            ..who.clone()
        };
        audit.insert(&tx, now_ms).map_err(StoreError::from)?;
        // Unsent until the router has it (`review_sent`).
        tx.execute(
            "INSERT INTO unsent_reviews (review_id, event, created_at_ms) VALUES (?, ?, ?)",
            params![review_id(&event), event.encode_to_vec(), now_ms],
        )
        .map_err(StoreError::from)?;
        let incident = load_row(&tx, id).map_err(StoreError::from)?.ok_or(ReviewError::NotFound)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(ReviewOutcome { incident, event })
    }

    /// The router has the decision: it is no longer waiting to be sent.
    pub fn review_sent(&self, event: &Incident) -> Result<(), StoreError> {
        self.writer()
            .execute("DELETE FROM unsent_reviews WHERE review_id = ?", [review_id(event)])
            .map(|_| ())
            .map_err(StoreError::from)
    }

    /// Decisions stored but not yet handed to the router, oldest first.
    pub fn unsent_reviews(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare("SELECT event FROM unsent_reviews ORDER BY created_at_ms, review_id LIMIT ?")?;
        let rows = stmt.query_map([limit as i64], |r| r.get::<_, Vec<u8>>(0))?;
        let mut events = Vec::new();
        for row in rows {
            let bytes = row?;
            events.push(Incident::decode(bytes.as_slice())?);
        }
        Ok(events)
    }
}

fn review_id(event: &Incident) -> String {
    event.review.as_ref().map(|r| r.review_id.clone()).unwrap_or_default()
}

fn action_verb(a: ReviewAction) -> &'static str {
    match a {
        ReviewAction::Acknowledge => "acknowledge",
        ReviewAction::Dismiss => "dismiss",
        ReviewAction::Resolve => "resolve",
    }
}

/// Adds the decision to the timeline and sets the incident's review state. False
/// when this decision was stored before (the router delivering back what the console
/// itself decided, or a redelivery).
fn insert_review(tx: &Transaction<'_>, ev: &Incident) -> rusqlite::Result<bool> {
    let Some(review) = &ev.review else { return Ok(false) };
    let state = proto::names::review_action_name(review.action);
    if state == "unspecified" {
        return Ok(false);
    }
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO incident_events \
         (incident_id, phase, revision, dedupe_key, at_ms, cause, summary, action, operator, note) \
         VALUES (?, 'REVIEWED', ?, ?, ?, 'operator', ?, ?, ?, ?)",
        params![
            ev.id,
            ev.revision as i64,
            format!("review/{}", review.review_id),
            review.reviewed_at_ms,
            ev.summary,
            state,
            review.operator,
            review.note
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    let seq = tx.last_insert_rowid();
    let set_review = "UPDATE incidents SET review = ?, last_seq = ? WHERE id = ?";
    let mut updated = tx.execute(set_review, params![state, seq, ev.id])?;
    if updated == 0 {
        // A decision read before its incident (a rebuild reads the reviews and the
        // incidents topics side by side): the event's own copy of the incident makes
        // the row; the pipeline's events fill it in when they arrive.
        super::incidents::upsert_incident(tx, ev, seq)?;
        updated = tx.execute(set_review, params![state, seq, ev.id])?;
    }
    Ok(updated > 0)
}

pub(super) fn apply_review_event(tx: &Transaction<'_>, ev: &Incident) -> rusqlite::Result<bool> {
    insert_review(tx, ev)
}
