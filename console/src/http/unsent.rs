//! Decisions that the router refused when they were made (its outbox could not write:
//! a full disk, a stopping router) are sent again here, every few seconds and after a
//! restart, until the router takes them: every decision goes out at least once (its
//! consumers deduplicate by review id).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{Console, ReviewPublisher};

const EVERY: Duration = Duration::from_secs(5);
const BATCH: usize = 100;

/// Hands the stored unsent decisions to `reviews`; returns how many went.
pub(crate) fn send_unsent(console: &Console, reviews: &dyn ReviewPublisher) -> usize {
    let events = match console.store().unsent_reviews(BATCH) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("console: unsent decisions: {}", crate::error::chain(&e));
            return 0;
        }
    };
    let mut sent = 0;
    for event in &events {
        if let Err(e) = reviews.publish(event) {
            // Still refused: the next round tries again, in order.
            tracing::warn!(incident = %event.id, "console: a decision still waits to be sent on: {}", crate::error::chain(e.as_ref()));
            break;
        }
        if let Err(e) = console.store().review_sent(event) {
            tracing::error!("console: unsent decisions: {}", crate::error::chain(&e));
            break;
        }
        sent += 1;
    }
    if sent > 0 {
        tracing::info!(decisions = sent, "console: decisions that had waited were sent on");
    }
    sent
}

/// Retries until `shutdown`, off the async workers.
pub(crate) fn spawn(console: Arc<Console>, reviews: Arc<dyn ReviewPublisher>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let (c, r) = (Arc::clone(&console), Arc::clone(&reviews));
            let _ = tokio::task::spawn_blocking(move || send_unsent(&c, r.as_ref())).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    });
}
