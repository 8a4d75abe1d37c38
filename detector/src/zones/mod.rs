//! Zones: polygons where rules apply, with anchors, inertia, schedules and exemptions.

pub mod presence;
pub mod zone;

pub use presence::Presence;
pub use zone::{Anchor, Zone, ZoneKind};
