//! Evidence retention: snapshots and clips older than `storage.evidence_retention_days`
//! are removed, and the oldest go first while the evidence takes more than
//! `storage.evidence_max_bytes`; evidence of an open incident is never removed (its
//! file names start with the incident id). Runs on a timer off the analysis path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use metrics::{counter, describe_counter, describe_gauge, gauge};

#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    pub max_age: Duration,
    pub max_bytes: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub removed_files: usize,
    pub removed_bytes: u64,
    pub kept_open: usize,
    pub remaining_bytes: u64,
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_evidence_removed_files_total", "Evidence files removed by retention.");
    describe_gauge!("streetwatch_evidence_bytes", "Bytes of evidence on disk after the last retention sweep.");
}

struct File {
    path: PathBuf,
    bytes: u64,
    modified: SystemTime,
    open: bool,
}

fn collect(dir: &Path, open: &HashSet<String>, out: &mut Vec<File>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            collect(&path, open, out);
        } else if meta.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            // `<incident id>.mp4`, `<incident id>-r<revision>.jpg`
            let id = name.split(['.', '-']).take(5).collect::<Vec<_>>().join("-");
            out.push(File {
                bytes: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                open: open.contains(&id),
                path,
            });
        }
    }
}

/// One sweep of `evidence_dir` at time `now`.
pub fn sweep(evidence_dir: &Path, policy: &RetentionPolicy, open: &HashSet<String>, now: SystemTime) -> Swept {
    let mut files = Vec::new();
    collect(evidence_dir, open, &mut files);
    files.sort_by_key(|f| f.modified);
    let mut total: u64 = files.iter().map(|f| f.bytes).sum();
    let mut swept = Swept::default();
    for f in &files {
        if f.open {
            swept.kept_open += 1;
            continue;
        }
        let too_old = now.duration_since(f.modified).is_ok_and(|age| age > policy.max_age);
        if too_old || total > policy.max_bytes {
            match std::fs::remove_file(&f.path) {
                Ok(()) => {
                    total -= f.bytes;
                    swept.removed_files += 1;
                    swept.removed_bytes += f.bytes;
                }
                Err(e) => tracing::warn!(path = %f.path.display(), "cannot remove old evidence: {e}"),
            }
        }
    }
    remove_empty_dirs(evidence_dir);
    swept.remaining_bytes = total;
    counter!("streetwatch_evidence_removed_files_total").increment(swept.removed_files as u64);
    gauge!("streetwatch_evidence_bytes").set(total as f64);
    swept
}

fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            remove_empty_dirs(&p);
            // Fails (and is meant to) when the folder is not empty.
            let _ = std::fs::remove_dir(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: usize, age: Duration) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![0u8; bytes]).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn old_evidence_goes_and_an_open_incidents_evidence_stays() {
        let dir = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(86_400);
        let old = "01a00000-0000-7000-8000-000000000001";
        let open = "01a00000-0000-7000-8000-000000000002";
        let recent = "01a00000-0000-7000-8000-000000000003";
        let ev = dir.path();
        write(&ev.join(format!("2026-10-01/cam/{old}.mp4")), 1000, 40 * day);
        write(&ev.join(format!("2026-10-01/cam/{old}-r1.jpg")), 100, 40 * day);
        write(&ev.join(format!("2026-10-01/cam/{open}.mp4")), 1000, 40 * day);
        write(&ev.join(format!("2026-10-01/cam/{open}-r2.jpg")), 100, 40 * day);
        write(&ev.join(format!("2026-11-24/cam/{recent}.mp4")), 1000, day);
        let policy = RetentionPolicy { max_age: 30 * day, max_bytes: 1 << 30 };
        let open_ids: HashSet<String> = [open.to_string()].into();
        let s = sweep(ev, &policy, &open_ids, SystemTime::now());
        assert_eq!(s.removed_files, 2);
        assert_eq!(s.kept_open, 2);
        assert!(!ev.join(format!("2026-10-01/cam/{old}.mp4")).exists());
        assert!(ev.join(format!("2026-10-01/cam/{open}.mp4")).exists(), "open incident's clip kept");
        assert!(ev.join(format!("2026-10-01/cam/{open}-r2.jpg")).exists());
        assert!(ev.join(format!("2026-11-24/cam/{recent}.mp4")).exists());

        // Over the byte bound: the oldest closed evidence goes first, the open stays.
        write(&ev.join(format!("2026-11-25/cam/{old}.mp4")), 1000, Duration::from_secs(60));
        let tight = RetentionPolicy { max_age: 30 * day, max_bytes: 2500 };
        let s = sweep(ev, &tight, &open_ids, SystemTime::now());
        assert_eq!(s.removed_files, 1, "{s:?}");
        assert!(!ev.join(format!("2026-11-24/cam/{recent}.mp4")).exists(), "the oldest closed one went");
        assert!(ev.join(format!("2026-11-25/cam/{old}.mp4")).exists());
        assert!(ev.join(format!("2026-10-01/cam/{open}.mp4")).exists());
        assert!(s.remaining_bytes <= 2500 || s.kept_open > 0);
        assert!(!ev.join("2026-11-24").exists(), "emptied folders are removed");
    }
}
