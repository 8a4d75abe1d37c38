//! Process-level metrics and their descriptions. Component metrics are described
//! where they are emitted; all names start with `streetwatch_`.

use metrics::{describe_gauge, gauge};

pub fn describe_process_metrics() {
    describe_gauge!("streetwatch_build_info", "Always 1; labels carry the version.");
    describe_gauge!("streetwatch_cameras_configured", "Cameras in the loaded config, enabled or not.");
    describe_gauge!("streetwatch_ready", "1 when every component has started and the process is not shutting down.");
}

pub fn record_startup(cameras: usize) {
    gauge!("streetwatch_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    gauge!("streetwatch_cameras_configured").set(cameras as f64);
}
