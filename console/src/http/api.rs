//! The JSON API the page uses. Every endpoint needs a login; decisions need the
//! operator role and the CSRF token; the audit log needs the admin role.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Authed;
use super::{ApiError, Shared};
use crate::store::{FeedFilter, ReviewAction, ReviewError, StoreError};
use crate::users::Role;

pub async fn me(authed: Authed) -> Json<Value> {
    let s = &authed.session;
    Json(json!({
        "user": s.user,
        "role": s.role.name(),
        "csrf_token": s.csrf_token,
        "can_review": s.role >= Role::Operator,
        "can_audit": s.role >= Role::Admin,
        "expires_ms": s.expires_ms,
    }))
}

#[derive(Deserialize)]
pub struct FeedQuery {
    kind: Option<String>,
    camera: Option<String>,
    zone: Option<String>,
    state: Option<String>,
    before: Option<String>,
    limit: Option<usize>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// A page of the feed, newest first, filtered; `before` continues from the last page.
pub async fn incidents(
    State(state): State<Shared>,
    authed: Authed,
    Query(q): Query<FeedQuery>,
) -> Result<Json<crate::store::Page>, ApiError> {
    let filter = FeedFilter {
        kind: non_empty(q.kind),
        camera: non_empty(q.camera),
        zone: non_empty(q.zone),
        state: non_empty(q.state),
    };
    let before = non_empty(q.before);
    let limit = q.limit.unwrap_or(50);
    let console = Arc::clone(&state.console);
    let district = authed.district;
    let page = tokio::task::spawn_blocking(move || console.store.page(&filter, &district, before.as_deref(), limit))
        .await
        .map_err(ApiError::internal)?;
    match page {
        Ok(page) => Ok(Json(page)),
        // The browser's own parameters: its mistake, said plainly.
        Err(e @ (StoreError::UnknownState(_) | StoreError::BadCursor(_))) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

pub async fn incident(
    State(state): State<Shared>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<crate::store::IncidentDetail>, ApiError> {
    match state.console.store.detail(&id).map_err(ApiError::internal)? {
        Some(d) if authed.sees(&d.incident) => Ok(Json(d)),
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no incident `{id}`"))),
    }
}

#[derive(Deserialize)]
pub struct ReviewRequest {
    action: String,
    #[serde(default)]
    note: String,
}

/// An operator's decision: stored with its audit record, then sent through the router
/// as a REVIEWED event.
pub async fn review(
    State(state): State<Shared>,
    authed: Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<ReviewRequest>,
) -> Result<Json<Value>, ApiError> {
    authed.require(Role::Operator)?;
    authed.check_csrf(&headers)?;
    authed.visible_incident(&state, &id)?;
    let action = ReviewAction::parse(&req.action).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown action `{}` (acknowledge, dismiss, resolve)", req.action),
        )
    })?;
    if req.note.len() > 2000 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "the note is longer than 2000 characters"));
    }
    let who = authed.audit("", "", "");
    let (console, reviews) = (Arc::clone(&state.console), Arc::clone(&state.reviews));
    let done = tokio::task::spawn_blocking(move || {
        let outcome = console.review(&id, action, &req.note, &who)?;
        // Stored first (the operator's decision is the record); the router's outbox
        // then has it on disk before we answer.
        let published = reviews.publish(&outcome.event);
        if published.is_ok() {
            if let Err(e) = console.store().review_sent(&outcome.event) {
                // Sent again by the retry (consumers deduplicate by review id).
                tracing::error!("console: {}", crate::error::chain(&e));
            }
        }
        Ok::<_, ReviewError>((outcome, published))
    })
    .await
    .map_err(ApiError::internal)?;
    let (outcome, published) = done.map_err(|e| match e {
        ReviewError::NotFound => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        ReviewError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        ReviewError::NoteRequired => ApiError::new(StatusCode::BAD_REQUEST, e.to_string()),
        ReviewError::Storage(s) => ApiError::internal(s),
    })?;
    metrics::counter!("streetwatch_console_reviews_total", "action" => action.state()).increment(1);
    if let Err(e) = &published {
        tracing::error!(incident = %outcome.incident.id, "console: the decision is stored but could not be sent on yet (retried every 5 s): {}", crate::error::chain(e.as_ref()));
    }
    Ok(Json(json!({ "incident": outcome.incident, "published": published.is_ok() })))
}

/// The feed's filter choices: kinds, the cameras configured or seen, zones seen.
pub async fn filters(State(state): State<Shared>, authed: Authed) -> Result<Json<Value>, ApiError> {
    let (mut cameras, zones) = state.console.store.filter_choices(&authed.district).map_err(ApiError::internal)?;
    for c in state.cameras.cameras().into_iter().filter(|c| authed.sees_camera(c)) {
        if !cameras.contains(&c.id) {
            cameras.push(c.id);
        }
    }
    cameras.sort();
    let zones: Vec<Value> = zones.into_iter().map(|(id, name)| json!({"id": id, "name": name})).collect();
    Ok(Json(json!({
        "kinds": ["sidewalk_parking", "street_vending", "bike_cluster"],
        "cameras": cameras,
        "zones": zones,
        "states": ["open", "ended", "new", "acknowledged", "dismissed", "resolved"],
    })))
}

pub async fn cameras(State(state): State<Shared>, authed: Authed) -> Json<Value> {
    let cameras: Vec<_> = state.cameras.cameras().into_iter().filter(|c| authed.sees_camera(c)).collect();
    Json(json!({ "cameras": cameras, "now_ms": crate::store::now_ms() }))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    limit: Option<usize>,
}

pub async fn audit(
    State(state): State<Shared>,
    authed: Authed,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    authed.require(Role::Admin)?;
    let records = state.console.store.audit_page(q.before, q.limit.unwrap_or(100)).map_err(ApiError::internal)?;
    Ok(Json(json!({ "records": records })))
}
