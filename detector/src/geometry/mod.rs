//! Plane geometry for zones, masks and boxes. Pure functions, no I/O.

pub mod boxes;
pub mod polygon;

pub use boxes::BoxXyxy;
pub use polygon::{check_polygon_shape, contains_point, PolygonProblem};
