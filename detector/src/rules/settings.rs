//! Rule settings in model terms (class ids). The binary builds them from the config,
//! where every default is documented (docs/config.md).

#[derive(Debug, Clone, PartialEq)]
pub struct SidewalkParkingSettings {
    pub enabled: bool,
    pub dwell_secs: f64,
    /// Vehicle classes.
    pub classes: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreetVendingSettings {
    pub enabled: bool,
    pub dwell_secs: f64,
    pub person_class: Option<usize>,
    /// Objects that mark a stall (umbrella, dining table, ...; a custom model's `stall`).
    pub stall_classes: Vec<usize>,
    /// Stationary persons that count as vending without any stall object.
    pub min_persons_without_stall: usize,
    /// How close (fraction of the frame diagonal) persons and stall objects must be
    /// to count as one stall.
    pub group_radius: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BikeClusterSettings {
    pub enabled: bool,
    pub dwell_secs: f64,
    pub min_count: usize,
    /// Neighbourhood radius, fraction of the frame diagonal.
    pub cluster_radius: f64,
    /// Bicycle classes (plus motorbike when configured).
    pub classes: Vec<usize>,
    pub person_class: Option<usize>,
    /// Flag clusters anywhere, not only in no-bike-parking zones.
    pub anywhere: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentTiming {
    pub update_interval_secs: f64,
    pub clear_secs: f64,
    pub realarm_secs: f64,
    pub escalate_after_secs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSettings {
    pub sidewalk_parking: SidewalkParkingSettings,
    pub street_vending: StreetVendingSettings,
    pub bike_cluster: BikeClusterSettings,
    pub timing: IncidentTiming,
    /// An object is still while its box stays within this IoU of where it stopped.
    pub stationary_iou: f32,
    /// Keep still objects still across lighting changes (None: boxes alone decide).
    pub appearance: Option<AppearanceCheck>,
}

/// The optional appearance check: when a still object's box jumps, or the detector
/// loses it, the pixels where it stood decide whether it is still there.
#[derive(Debug, Clone, PartialEq)]
pub struct AppearanceCheck {
    /// Normalised cross-correlation of 16x16 grey patches that counts as "the same".
    pub min_correlation: f32,
    /// Only objects still for at least this long are checked (parked, not passing).
    pub min_still_secs: f64,
}

impl Default for AppearanceCheck {
    fn default() -> Self {
        Self { min_correlation: 0.8, min_still_secs: 10.0 }
    }
}
