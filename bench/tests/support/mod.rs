//! What the tool tests share: the tool binary, and the pipeline binary it starts.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::Command;

/// `streetwatch-bench`, told where this build's `streetwatch` is: the tools start
/// the pipeline from there (a workspace test run builds both).
pub fn bin() -> Command {
    let tools = PathBuf::from(env!("CARGO_BIN_EXE_streetwatch-bench"));
    let pipeline = tools.with_file_name("streetwatch");
    assert!(
        pipeline.is_file(),
        "{} is missing: run the tests of the whole workspace (deploy/test.sh), or build it first (cargo build -p streetwatch)",
        pipeline.display()
    );
    let mut cmd = Command::new(tools);
    cmd.env("STREETWATCH_BIN", pipeline);
    cmd
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
