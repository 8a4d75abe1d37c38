//! Logs, metrics and health endpoints.

pub mod http;
pub mod logging;
pub mod metrics_catalog;
