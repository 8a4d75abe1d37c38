//! One module per subcommand.

pub mod bench_console;
pub mod bench_detector;
pub mod bench_ingest;
pub mod bench_router;
pub mod console_user;
pub mod replay;
pub mod run;
pub mod test_cameras;
pub mod validate;
