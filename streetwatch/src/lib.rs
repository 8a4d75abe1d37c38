//! streetwatch: the crate that wires ingest, detector and router together.
//!
//! The binary (`main.rs`) is a thin shell over this library so that integration
//! tests can drive the config loader and commands directly.

pub mod cli;
pub mod commands;
pub mod config;
pub mod exit_code;
pub mod process;
pub mod shutdown;
pub mod telemetry;
pub mod wiring;
