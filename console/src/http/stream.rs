//! The live feed: server-sent events. Each event is an incident as the feed shows it
//! (`id:` = its change sequence). A browser that reconnects sends the last id it saw
//! (EventSource does this by itself) and first gets every incident changed since,
//! then live changes; when too much was missed it is told to reload (`resync`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::auth::Authed;
use super::{ApiError, Shared};
use crate::store::IncidentRow;

/// Beyond this many missed changes, reloading the first page is cheaper and clearer.
const CATCH_UP_LIMIT: usize = 500;
/// How often an open feed checks that its login still holds (logout, expiry).
const SESSION_CHECK: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
pub struct FeedParams {
    /// The page's `seq`: changes after it (a first connection has no Last-Event-ID).
    since: Option<i64>,
}

fn incident_event(row: &IncidentRow) -> Event {
    let data = serde_json::to_string(row).unwrap_or_else(|_| "{}".into());
    Event::default().event("incident").id(row.seq.to_string()).data(data)
}

fn resync_event() -> Event {
    Event::default().event("resync").data("{}")
}

struct Feed {
    backlog: VecDeque<Event>,
    rx: tokio::sync::broadcast::Receiver<Arc<IncidentRow>>,
    shutdown: tokio_util::sync::CancellationToken,
    /// To end the stream when its login ends (the browser then reconnects, is
    /// refused, and goes to the login page).
    state: Shared,
    token: String,
    check: tokio::time::Interval,
    _client: ClientGauge,
    /// Who reads it: another district's incidents are not sent.
    authed: Authed,
}

impl Feed {
    fn login_holds(&self) -> bool {
        matches!(self.state.console.store.session(&self.token, crate::store::now_ms()), Ok(Some(_)))
    }
}

/// Counts connected browsers while the stream lives.
struct ClientGauge;

impl ClientGauge {
    fn new() -> Self {
        metrics::gauge!("streetwatch_console_feed_clients").increment(1.0);
        ClientGauge
    }
}

impl Drop for ClientGauge {
    fn drop(&mut self) {
        metrics::gauge!("streetwatch_console_feed_clients").decrement(1.0);
    }
}

pub async fn feed(
    State(state): State<Shared>,
    authed: Authed,
    headers: HeaderMap,
    Query(params): Query<FeedParams>,
) -> Result<Response, ApiError> {
    let last_seen = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    // Subscribe before reading the backlog: a change committed in between is sent
    // twice rather than never (the page replaces an incident by id).
    let rx = state.console.subscribe();
    // Reconnect quickly after a drop (the browser's default is a few seconds).
    let mut backlog = VecDeque::from([Event::default().retry(Duration::from_millis(1000))]);
    if let Some(after) = last_seen.or(params.since) {
        let missed = state.console.store.changed_since(after, CATCH_UP_LIMIT + 1).map_err(ApiError::internal)?;
        if missed.len() > CATCH_UP_LIMIT {
            backlog.push_back(resync_event());
        } else {
            backlog.extend(missed.iter().filter(|r| authed.sees(r)).map(incident_event));
        }
    }
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        backlog,
        rx,
        shutdown: state.shutdown.clone(),
        state: Arc::clone(&state),
        token: authed.token.clone(),
        authed,
        check,
        _client: ClientGauge::new(),
    };
    let events = stream::unfold(feed, |mut feed| async move {
        if let Some(ev) = feed.backlog.pop_front() {
            return Some((Ok::<_, Infallible>(ev), feed));
        }
        let next = loop {
            tokio::select! {
                // The stream ends with the process, so a graceful shutdown is not held
                // open by browsers; they reconnect to the next process and catch up.
                _ = feed.shutdown.cancelled() => return None,
                _ = feed.check.tick() => {
                    if !feed.login_holds() {
                        return None;
                    }
                }
                next = feed.rx.recv() => match next {
                    // Another district's incident: not for this account.
                    Ok(row) if !feed.authed.sees(&row) => continue,
                    next => break next,
                },
            }
        };
        match next {
            Ok(row) => Some((Ok(incident_event(&row)), feed)),
            Err(RecvError::Lagged(_)) => Some((Ok(resync_event()), feed)),
            Err(RecvError::Closed) => None,
        }
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(sse.into_response())
}
