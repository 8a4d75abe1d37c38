//! streetwatch-bench: the benchmarks and test tools of streetwatch, kept out of the
//! product's binary (`streetwatch --help` lists what an operator runs). The tools
//! that run the pipeline start the `streetwatch` binary that sits next to this one.
//! Build them apart (`cargo build --release --locked -p streetwatch`, then
//! `-p streetwatch-bench`), so the product takes none of the tools' test features.

mod cli;
mod commands;

use clap::Parser;

use cli::{Cli, Command};
use streetwatch::config::schema::LogFormat;
use streetwatch::{exit_code, telemetry};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" to clap that print to stdout.
            let code = if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("sw-bench").build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit_code::RUNTIME_FAILURE);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
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
