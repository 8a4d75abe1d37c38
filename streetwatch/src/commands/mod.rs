//! One module per subcommand.

pub mod assign;
pub mod console_user;
pub mod replay;
pub mod run;
pub mod shared_console;
pub mod validate;
pub mod worker;
mod worker_http;
