//! One module per tool.

pub mod bench_console;
pub mod bench_detector;
pub mod bench_ingest;
pub mod bench_pipeline;
pub mod bench_rebalance;
pub mod bench_router;
pub mod bench_support;
pub mod fuzz;
pub mod soak;
pub mod test_cameras;
