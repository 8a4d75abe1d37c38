//! One module per subcommand.

pub mod run;
pub mod test_cameras;
pub mod validate;
