//! streetwatch-bench: the benchmarks and test tools of streetwatch, kept out of the
//! product's binary (`streetwatch --help` lists what an operator runs). The tools
//! that run the pipeline start the `streetwatch` binary that sits next to this one.
//! Build them apart (`cargo build --release --locked -p streetwatch`, then
//! `-p streetwatch-bench`), so the product takes none of the tools' test features.

mod cli;
mod commands;

use cli::{Cli, Command};
use streetwatch::config::schema::LogFormat;
use streetwatch::{exit_code, telemetry};

fn main() {
    streetwatch::process::run_and_exit("sw-bench", dispatch)
}

async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::TestCameras(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), &cli.log_level);
            tokio::task::spawn_blocking(move || commands::test_cameras::test_cameras(&args))
                .await
                .unwrap_or(exit_code::RUNTIME_FAILURE)
        }
        Command::BenchIngest(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::bench_ingest::bench_ingest(&args).await
        }
        Command::BenchDetector(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            tokio::task::spawn_blocking(move || commands::bench_detector::bench_detector(args))
                .await
                .unwrap_or(exit_code::RUNTIME_FAILURE)
        }
        Command::BenchRebalance(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::bench_rebalance::bench_rebalance(&args).await
        }
        Command::Fuzz(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "error");
            commands::fuzz::fuzz(&args).await
        }
        Command::Soak(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::soak::soak(&args).await
        }
        Command::BenchRouter(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::bench_router::bench_router(&args).await
        }
        Command::Bench(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::bench_pipeline::bench(&args).await
        }
        Command::BenchConsole(args) => {
            telemetry::logging::init(cli.log_format.unwrap_or(LogFormat::Human), "warn");
            commands::bench_console::bench_console(&args).await
        }
    }
}
