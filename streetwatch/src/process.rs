//! The shell both binaries (`streetwatch`, `streetwatch-bench`) run in: parse the
//! command line, run the command on a multi-threaded tokio runtime, exit with its code.

use std::future::Future;
use std::time::Duration;

use crate::exit_code;

/// Parses `C` (clap's `--help` and `--version` exit 0, a usage error exits
/// `USAGE`), runs `command` on a runtime whose threads are named `thread_name`,
/// and exits with the code it returns.
pub fn run_and_exit<C: clap::Parser, F: Future<Output = i32>>(thread_name: &str, command: impl FnOnce(C) -> F) -> ! {
    let cli = match C::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" to clap that print to stdout.
            let code = if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name(thread_name).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit_code::RUNTIME_FAILURE);
        }
    };
    let code = runtime.block_on(command(cli));
    // Components that ignored the shutdown deadline must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(200));
    std::process::exit(code);
}
