//! One module per subcommand.

pub mod assign;
pub mod bench_console;
pub mod bench_detector;
pub mod bench_ingest;
pub mod bench_pipeline;
pub mod bench_rebalance;
pub mod bench_router;
mod bench_support;
pub mod console_user;
pub mod fuzz;
pub mod replay;
pub mod run;
pub mod shared_console;
pub mod soak;
pub mod test_cameras;
pub mod validate;
pub mod worker;
mod worker_http;
