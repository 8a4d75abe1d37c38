//! Where evidence lives under the data directory: one folder per local day and
//! camera (retention sweeps whole days; an analyst finds a camera's day at once).

use crate::incidents::IncidentEvent;

/// `evidence/<local date>/<camera>/`, for an event of `camera`.
fn folder(camera: &str, event: &IncidentEvent, utc_offset_minutes: i32) -> String {
    let (y, m, d, ..) = event.at.civil(utc_offset_minutes);
    format!("evidence/{y:04}-{m:02}-{d:02}/{camera}")
}

/// The snapshot of one revision of an incident.
pub fn snapshot_path(camera: &str, event: &IncidentEvent, utc_offset_minutes: i32) -> String {
    format!("{}/{}-r{}.jpg", folder(camera, event, utc_offset_minutes), event.id, event.revision)
}

/// The clip of an incident (from its STARTED event).
pub fn clip_path(camera: &str, event: &IncidentEvent, utc_offset_minutes: i32) -> String {
    format!("{}/{}.mp4", folder(camera, event, utc_offset_minutes), event.id)
}
