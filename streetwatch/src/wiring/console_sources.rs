//! The shared console's intake: records of the incidents, reviews and camera-status
//! topics (router's `GroupReader`) decoded and stored in the console's database with
//! the positions after them, in one transaction (console's `Store::apply_batch`).

use std::collections::BTreeMap;
use std::sync::Arc;

use console::store::{Position, SourceBatch, StatusChange};
use console::Console;
use proto::Message;
use router::kafka::group_reader::{RecordHandler, TopicRecord};

pub struct ConsoleSources {
    pub console: Arc<Console>,
    pub camera_status_topic: String,
    /// The cluster's camera list (`[cluster] assignments_topic`).
    pub assignments_topic: String,
}

/// A camera's place from its assignment record (its `[[cameras]]` table as TOML).
fn place_of(body: &[u8]) -> (String, String) {
    let table: toml::Table = std::str::from_utf8(body).ok().and_then(|t| toml::from_str(t).ok()).unwrap_or_default();
    let get = |k: &str| table.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    (get("site"), get("grid"))
}

pub fn describe_metrics() {
    metrics::describe_counter!(
        "streetwatch_console_records_read_total",
        "Records the shared console stored, per topic."
    );
    metrics::describe_counter!(
        "streetwatch_console_records_skipped_total",
        "Records the shared console could not decode (not protobuf of the expected message), per topic."
    );
}

fn skipped(r: &TopicRecord, what: &str, e: &dyn std::fmt::Display) {
    metrics::counter!("streetwatch_console_records_skipped_total", "topic" => r.topic.clone()).increment(1);
    tracing::error!(
        topic = %r.topic, partition = r.partition, offset = r.offset,
        "console: a record that is not a protobuf {what} was skipped (is the topic's destination encoded as protobuf?): {e}"
    );
}

impl ConsoleSources {
    fn decode(&self, batch: &[TopicRecord]) -> SourceBatch {
        let mut out = SourceBatch::default();
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for r in batch {
            next.insert((r.topic.as_str(), r.partition), r.offset + 1);
            metrics::counter!("streetwatch_console_records_read_total", "topic" => r.topic.clone()).increment(1);
            let payload = r.payload.as_deref().unwrap_or_default();
            if r.topic == self.assignments_topic {
                let camera = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).to_string();
                if payload.is_empty() {
                    out.statuses.push(StatusChange::Unassigned(camera));
                } else {
                    let (site, grid) = place_of(payload);
                    out.statuses.push(StatusChange::Assigned { camera, site, grid });
                }
            } else if r.topic == self.camera_status_topic {
                if payload.is_empty() {
                    let camera = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).to_string();
                    out.statuses.push(StatusChange::Removed(camera));
                    continue;
                }
                match proto::v1::CameraStatus::decode(payload) {
                    Ok(s) => out.statuses.push(StatusChange::Set(s)),
                    Err(e) => skipped(r, "streetwatch.v1.CameraStatus", &e),
                }
            } else {
                match proto::v1::Incident::decode(payload) {
                    Ok(i) => out.events.push(i),
                    Err(e) => skipped(r, "streetwatch.v1.Incident", &e),
                }
            }
        }
        out.positions = next
            .into_iter()
            .map(|((topic, partition), next_offset)| Position { topic: topic.to_string(), partition, next_offset })
            .collect();
        out
    }
}

impl RecordHandler for ConsoleSources {
    fn position(&self, topic: &str, partition: i32) -> Result<Option<i64>, router::error::BoxError> {
        Ok(self.console.store().position(topic, partition)?)
    }

    fn handle(&self, batch: &[TopicRecord]) -> Result<(), router::error::BoxError> {
        Ok(self.console.apply_batch(&self.decode(batch))?)
    }
}
