//! The live feed's fan-out: every stored change of an incident goes to every open
//! feed (a bounded broadcast; a browser that falls behind is told to reload rather
//! than holding memory for it).

use std::sync::Arc;

use metrics::describe_gauge;
use tokio::sync::broadcast;

use crate::store::IncidentRow;

const BACKLOG: usize = 1024;

pub struct FeedHub {
    tx: broadcast::Sender<Arc<IncidentRow>>,
}

pub fn describe_metrics() {
    describe_gauge!("streetwatch_console_feed_clients", "Browsers connected to the console's live feed.");
    metrics::describe_counter!(
        "streetwatch_console_logins_total",
        "Console logins, by outcome (ok, refused, throttled)."
    );
    metrics::describe_counter!("streetwatch_console_reviews_total", "Operator decisions recorded, by action.");
}

impl FeedHub {
    pub fn new() -> Self {
        Self { tx: broadcast::channel(BACKLOG).0 }
    }

    pub fn announce(&self, row: IncidentRow) {
        // No subscriber is fine: the change is in the database for the next page load.
        let _ = self.tx.send(Arc::new(row));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<IncidentRow>> {
        self.tx.subscribe()
    }
}
