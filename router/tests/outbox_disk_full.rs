//! The outbox on a file system that fills up: a small tmpfs mounted for the test
//! (skipped, saying why, where this process may not mount one). Appends are refused
//! with an error naming the file and "No space left"; nothing accepted before is
//! lost; no half record is left behind; once space returns appends go on, and a
//! reopen finds every accepted entry and no damage.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use router::outbox::{NewEntry, Outbox, OutboxSettings, Retention};

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    _parent: tempfile::TempDir,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Result<Self, String> {
        let parent = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = parent.path().join("disk");
        std::fs::create_dir(&path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Self { _parent: parent, path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Fills the file system at `dir` (a filler file, 4 KiB at a time) until it refuses.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0x5a_u8; 4096];
    while f.write_all(&block).and_then(|()| f.sync_data()).is_ok() {}
    path
}

fn entry(n: usize) -> NewEntry {
    NewEntry {
        destination: Arc::from("police"),
        key: "cam-01".into(),
        headers: Vec::new(),
        body: format!("event {n:05} {}", "x".repeat(200)).into_bytes(),
        retention: Retention::Keep,
        created_ms: 1_795_564_800_000,
    }
}

#[test]
fn a_full_disk_refuses_new_events_loses_none_accepted_and_recovers_by_itself() {
    let disk = match SmallDisk::mount("2m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({why}); the disk-full test needs root or CAP_SYS_ADMIN");
            return;
        }
    };
    let dir = disk.path.join("outbox");
    let settings = OutboxSettings { max_bytes: 1 << 30, segment_bytes: 64 << 10 };
    let (mut ob, _) = Outbox::open(&dir, settings.clone()).unwrap();
    let mut accepted = Vec::new();
    for n in 0..100 {
        ob.append(vec![entry(n)]).unwrap();
        accepted.push(n);
    }
    let filler = fill(&disk.path);

    // Full: every append is refused, with the reason and the file.
    let mut refused = 0;
    for n in 100..400 {
        match ob.append(vec![entry(n)]) {
            Ok(_) => accepted.push(n),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("No space left") && text.contains("outbox"), "{text}");
                refused += 1;
            }
        }
    }
    assert!(refused > 250, "the disk was full: {refused} of 300 refused");
    let pending = |ob: &Outbox| -> Vec<String> {
        ob.pending_after("police", None, 10_000)
            .iter()
            .map(|e| String::from_utf8_lossy(&e.new.body)[..11].to_string())
            .collect()
    };
    let expected: Vec<String> = accepted.iter().map(|n| format!("event {n:05}")).collect();
    assert_eq!(pending(&ob), expected, "what was accepted is still there, in order");

    // Space again: appends go on by themselves.
    std::fs::remove_file(filler).unwrap();
    for n in 400..420 {
        ob.append(vec![entry(n)]).unwrap();
        accepted.push(n);
    }
    drop(ob);
    let (ob, report) = Outbox::open(&dir, settings).unwrap();
    assert!(report.damaged.is_empty(), "a refused append leaves no half record: {:?}", report.damaged);
    let expected: Vec<String> = accepted.iter().map(|n| format!("event {n:05}")).collect();
    assert_eq!(pending(&ob), expected, "every accepted entry after a reopen");
    println!("disk full: {} accepted before, {refused} refused while full, 20 accepted after", accepted.len() - 20);
}
