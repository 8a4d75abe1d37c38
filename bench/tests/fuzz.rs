//! Every parser of outside input under `streetwatch-bench fuzz` for a bounded number of
//! inputs (the command runs millions; BENCHMARKS.md and docs/fuzzing.md): no panic,
//! no broken invariant, no input slower than a second, and each target runs every
//! input it was asked to.

mod support;

use support::bin;

#[test]
fn every_parser_survives_twenty_thousand_mutated_inputs() {
    let findings = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["fuzz", "--runs", "20000", "--seed", "20261203", "--findings"])
        .arg(findings.path())
        .output()
        .expect("spawn streetwatch-bench fuzz");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "findings:\n{stderr}\n{stdout}");
    for target in ["nal", "outbox", "config", "camera-url", "assignment", "console"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{target}: 20000 inputs")))
            .unwrap_or_else(|| panic!("{target} did not run its inputs:\n{stdout}\n{stderr}"));
        assert!(line.ends_with("findings 0"), "{line}");
    }
    assert_eq!(std::fs::read_dir(findings.path()).map(|d| d.count()).unwrap_or(0), 0, "no input saved");
}
