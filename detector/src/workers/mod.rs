//! Inference workers: OS threads (never tokio workers), each with its own ONNX Runtime
//! session, fed fairly across cameras by one scheduler.

pub mod feed;
pub mod memory_feed;
pub mod metrics;
pub mod pool;
pub mod scheduler;
