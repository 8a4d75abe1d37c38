//! Incident lifecycles: STARTED, UPDATED, ENDED, one incident per situation.

pub mod book;
pub mod event;
pub mod id;

pub use book::IncidentBook;
pub use event::{Cause, IncidentEvent, IncidentObject, Phase, Severity, ZoneInfo};
pub use id::incident_id;
