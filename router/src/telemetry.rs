//! The router's metrics. Destination names are few and fixed by config: fine labels.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub fn describe() {
    describe_counter!("streetwatch_router_events_routed_total", "Events written to the outbox, per destination.");
    describe_counter!(
        "streetwatch_router_events_delivered_total",
        "Events the destination confirmed, per destination."
    );
    describe_counter!("streetwatch_router_events_retried_total", "Deliveries that failed and will be tried again.");
    describe_counter!("streetwatch_router_events_dead_lettered_total", "Events a destination refused for good.");
    describe_counter!("streetwatch_router_events_shed_total", "UPDATED events shed because the outbox was full.");
    describe_counter!(
        "streetwatch_router_outbox_refused_total",
        "Events refused because the outbox could not be written (disk full, I/O error): not accepted, the caller logs them."
    );
    describe_gauge!("streetwatch_router_outbox_events", "Undelivered events in the outbox, per destination.");
    describe_gauge!("streetwatch_router_outbox_oldest_age_seconds", "Age of the oldest undelivered event.");
    describe_gauge!("streetwatch_router_outbox_bytes", "Bytes of undelivered events (the bound applies to this).");
    describe_histogram!("streetwatch_router_outbox_write_seconds", "Outbox append and sync, per batch.");
    describe_counter!(
        "streetwatch_router_state_records_sent_total",
        "Latest-state records (camera status) queued, per topic."
    );
    describe_counter!(
        "streetwatch_router_state_records_refused_total",
        "Latest-state records the producer refused (queue full), per topic; the next heartbeat supersedes them."
    );
}

pub fn routed(destination: &str, n: usize) {
    counter!("streetwatch_router_events_routed_total", "destination" => destination.to_string()).increment(n as u64);
}
pub fn delivered(destination: &str, n: usize) {
    counter!("streetwatch_router_events_delivered_total", "destination" => destination.to_string()).increment(n as u64);
}
pub fn retried(destination: &str, n: usize) {
    counter!("streetwatch_router_events_retried_total", "destination" => destination.to_string()).increment(n as u64);
}
pub fn dead_lettered(destination: &str) {
    counter!("streetwatch_router_events_dead_lettered_total", "destination" => destination.to_string()).increment(1);
}
pub fn outbox_refused(n: usize) {
    counter!("streetwatch_router_outbox_refused_total").increment(n as u64);
}
pub fn shed(destination: &str) {
    counter!("streetwatch_router_events_shed_total", "destination" => destination.to_string()).increment(1);
}
pub fn outbox_state(destination: &str, events: usize, oldest_age_secs: f64) {
    gauge!("streetwatch_router_outbox_events", "destination" => destination.to_string()).set(events as f64);
    gauge!("streetwatch_router_outbox_oldest_age_seconds", "destination" => destination.to_string())
        .set(oldest_age_secs);
}
pub fn outbox_bytes(bytes: u64) {
    gauge!("streetwatch_router_outbox_bytes").set(bytes as f64);
}
pub fn write_seconds(secs: f64) {
    histogram!("streetwatch_router_outbox_write_seconds").record(secs);
}
pub fn state_sent(topic: &str) {
    counter!("streetwatch_router_state_records_sent_total", "topic" => topic.to_string()).increment(1);
}
pub fn state_refused(topic: &str) {
    counter!("streetwatch_router_state_records_refused_total", "topic" => topic.to_string()).increment(1);
}
