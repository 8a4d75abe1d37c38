//! The three violation rules, evaluated on a scene of tracked objects. Pure functions
//! of the scene: no state, no clock.

pub mod bike_cluster;
pub mod due;
pub mod scene;
pub mod settings;
pub mod sidewalk_parking;
pub mod stationary;
pub mod street_vending;

pub use scene::{RuleKind, Scene, SceneObject, Violation};
pub use settings::{AppearanceCheck, RuleSettings};

/// Every violation holding in the scene.
pub fn evaluate_all(scene: &Scene<'_>, settings: &RuleSettings) -> Vec<Violation> {
    let mut out = sidewalk_parking::evaluate(scene, &settings.sidewalk_parking);
    out.extend(street_vending::evaluate(scene, &settings.street_vending));
    out.extend(bike_cluster::evaluate(scene, &settings.bike_cluster));
    out
}
