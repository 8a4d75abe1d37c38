//! The operator console: a web application served by the streetwatch process.
//!
//! - `store/`: the embedded SQLite database (incidents, timelines, decisions, audit
//!   log, sessions) with its migrations.
//! - `users.rs`: accounts from the users file (argon2id hashes), roles.
//! - `http/`: the axum server: login, the JSON API, the live feed (server-sent
//!   events with catch-up), evidence files, the static page.
//! - `assets/`: the page itself, plain HTML, CSS and JavaScript (no build step).
//!
//! The console knows nothing of cameras, models or Kafka: the binary hands it
//! incident events (the router's `console` destination calls [`Console::deliver`]),
//! a [`health::CameraHealthSource`], a [`ReviewPublisher`] that sends operator
//! decisions back through the router, and optionally an
//! [`evidence_store::EvidenceStore`] for evidence written on other machines.

pub mod error;
pub mod evidence_store;
mod feed;
pub mod health;
mod http;
pub mod store;
pub mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use prost::Message;
use proto::v1::Incident;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::ConsoleError;
use feed::FeedHub;
use store::{AuditEntry, IncidentRow, ReviewAction, ReviewError, ReviewOutcome, Store, StoreError};
use users::Users;

pub struct ConsoleSettings {
    pub listen: SocketAddr,
    pub database: PathBuf,
    pub users_file: PathBuf,
    /// Evidence paths in events are relative to this folder.
    pub data_dir: PathBuf,
    pub secure_cookies: bool,
    pub session_ttl: Duration,
}

/// Sends an operator's decision (a REVIEWED event) on to the other destinations.
pub trait ReviewPublisher: Send + Sync {
    fn publish(&self, event: &Incident) -> Result<(), error::BoxError>;
}

pub struct Console {
    settings: ConsoleSettings,
    store: Store,
    users: Users,
    hub: FeedHub,
    /// Held across a write and its announcement, so the feed announces changes in
    /// sequence order (a reconnecting browser catches up from the last one it saw).
    write_order: Mutex<()>,
    /// Where evidence that is not on this disk is read from (object storage).
    evidence_store: OnceLock<Arc<dyn evidence_store::EvidenceStore>>,
}

impl Console {
    /// Opens the database (migrating it) and loads the accounts.
    pub fn open(settings: ConsoleSettings) -> Result<Arc<Console>, ConsoleError> {
        let users = Users::load(&settings.users_file)?;
        let store = Store::open(&settings.database)?;
        feed::describe_metrics();
        Ok(Arc::new(Console {
            settings,
            store,
            users,
            hub: FeedHub::new(),
            write_order: Mutex::new(()),
            evidence_store: OnceLock::new(),
        }))
    }

    /// Reads evidence not on this disk from `store` (set once, before serving).
    pub fn use_evidence_store(&self, store: Arc<dyn evidence_store::EvidenceStore>) {
        let _ = self.evidence_store.set(store);
    }

    pub(crate) fn evidence_store(&self) -> Option<&Arc<dyn evidence_store::EvidenceStore>> {
        self.evidence_store.get()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Incident events from the router (protobuf bodies, in order): stored, then
    /// announced to the live feed. Ok only once committed to disk: the router keeps
    /// the events until then.
    pub fn deliver(&self, bodies: &[&[u8]]) -> Result<(), StoreError> {
        let mut events = Vec::with_capacity(bodies.len());
        for body in bodies {
            match Incident::decode(*body) {
                Ok(i) => events.push(i),
                // Only the router writes these bodies; one that does not decode cannot
                // become decodable by retrying, so it is logged and skipped.
                Err(e) => tracing::error!("console: an event that is not a streetwatch.v1.Incident was skipped: {e}"),
            }
        }
        self.apply(&events)
    }

    /// Stores decoded events (as `deliver`).
    pub fn apply(&self, events: &[Incident]) -> Result<(), StoreError> {
        let _order = self.write_order.lock().unwrap_or_else(|p| p.into_inner());
        let changed = self.store.apply_events(events)?;
        for row in changed {
            self.hub.announce(row);
        }
        Ok(())
    }

    /// What the shared console read from its topics, stored with the positions after
    /// it in one transaction, then announced to the live feed.
    pub fn apply_batch(&self, batch: &store::SourceBatch) -> Result<(), StoreError> {
        let _order = self.write_order.lock().unwrap_or_else(|p| p.into_inner());
        let changed = self.store.apply_batch(batch)?;
        for row in changed {
            self.hub.announce(row);
        }
        Ok(())
    }

    /// Records an operator decision and announces it to the feed.
    pub(crate) fn review(
        &self,
        id: &str,
        action: ReviewAction,
        note: &str,
        who: &AuditEntry,
    ) -> Result<ReviewOutcome, ReviewError> {
        let _order = self.write_order.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = self.store.record_review(id, action, note, who, store::now_ms())?;
        self.hub.announce(outcome.incident.clone());
        Ok(outcome)
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<IncidentRow>> {
        self.hub.subscribe()
    }

    /// Serves the console until `shutdown`; returns the bound address and the task.
    pub async fn serve(
        self: Arc<Self>,
        cameras: Arc<dyn health::CameraHealthSource>,
        reviews: Arc<dyn ReviewPublisher>,
        shutdown: CancellationToken,
    ) -> Result<(SocketAddr, JoinHandle<()>), ConsoleError> {
        http::serve(self, cameras, reviews, shutdown).await
    }
}
