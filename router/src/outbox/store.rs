//! The durable outbox: every event is on disk (synced) before the pipeline moves on,
//! and leaves only when its destination confirmed delivery (or it was dead-lettered,
//! or shed under the documented policy).
//!
//! Files in the outbox directory:
//! - `entries-<first seq>.log`: appended entries (one per event and destination),
//!   framed with a magic and a CRC (`record.rs`). A new segment starts at every open
//!   and after `segment_bytes`; a segment whose entries are all done is deleted.
//! - `acks.log`: which sequence numbers are done, and how. Rewritten, compacted, at
//!   open and when it grows.
//!
//! At open, damaged stretches (a torn tail after a crash, flipped bytes) are skipped
//! and reported; every good record is kept. Entries live in memory too (the bound is
//! on their bytes), so delivery never reads the disk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::entry::{decode, encode, Entry, NewEntry, Retention};
use super::record::{frame, scan};
use crate::RouterError;

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Bound on the bytes of undelivered entries.
    pub max_bytes: u64,
    /// A new segment file after this many bytes.
    pub segment_bytes: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self { max_bytes: 1 << 30, segment_bytes: 64 << 20 }
    }
}

/// How an entry left the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Delivered = 1,
    Shed = 2,
    DeadLettered = 3,
}

/// A damaged stretch found at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub offset: usize,
    pub bytes: usize,
}

/// What open found.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// Undelivered entries recovered from disk, to be sent again.
    pub pending: usize,
    pub damaged: Vec<Damage>,
}

/// What an append did.
#[derive(Debug, Default)]
pub struct Appended {
    pub seqs: Vec<u64>,
    /// Entries shed to make room (UPDATED events): count and log them.
    pub shed: Vec<Arc<Entry>>,
    /// The outbox holds more than its bound (only entries that are never shed).
    pub over_bound: bool,
}

struct Segment {
    path: PathBuf,
    /// Entries in it not yet done.
    live: usize,
}

pub struct Outbox {
    dir: PathBuf,
    settings: OutboxSettings,
    next_seq: u64,
    active: File,
    active_first: u64,
    active_bytes: u64,
    segments: BTreeMap<u64, Segment>,
    acks: File,
    acks_bytes: u64,
    pending: BTreeMap<Arc<str>, BTreeMap<u64, Arc<Entry>>>,
    pending_bytes: u64,
    acks_synced_at: Instant,
}

const ACKS_SYNC_INTERVAL: Duration = Duration::from_secs(1);

fn io<'a>(path: &'a Path, what: &'static str) -> impl Fn(std::io::Error) -> RouterError + 'a {
    move |source| RouterError::Outbox { path: path.to_path_buf(), what, source }
}

fn segment_name(first_seq: u64) -> String {
    format!("entries-{first_seq:020}.log")
}

fn ack_payload(seq: u64, done: Done) -> [u8; 9] {
    let mut p = [0u8; 9];
    p[0] = done as u8;
    p[1..].copy_from_slice(&seq.to_le_bytes());
    p
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, recovering what is there.
    pub fn open(dir: &Path, settings: OutboxSettings) -> Result<(Self, OpenReport), RouterError> {
        fs::create_dir_all(dir).map_err(io(dir, "cannot create the outbox directory"))?;
        let mut report = OpenReport::default();

        // Which entries are done.
        let acks_path = dir.join("acks.log");
        let mut done: HashSet<u64> = HashSet::new();
        let mut max_seq = 0u64;
        if acks_path.exists() {
            let bytes = fs::read(&acks_path).map_err(io(&acks_path, "cannot read"))?;
            let s = scan(&bytes);
            for p in &s.payloads {
                match <[u8; 8]>::try_from(p.get(1..9).unwrap_or(&[])) {
                    Ok(b) if p.len() == 9 && (1..=3).contains(&p[0]) => {
                        done.insert(u64::from_le_bytes(b));
                    }
                    _ => report.damaged.push(Damage { file: acks_path.clone(), offset: 0, bytes: p.len() }),
                }
            }
            report.damaged.extend(s.damaged.iter().map(|&(o, n)| Damage {
                file: acks_path.clone(),
                offset: o,
                bytes: n,
            }));
        }

        // Every segment, oldest first.
        let mut names: Vec<(u64, PathBuf)> = fs::read_dir(dir)
            .map_err(io(dir, "cannot list"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let first = name.strip_prefix("entries-")?.strip_suffix(".log")?.parse::<u64>().ok()?;
                Some((first, e.path()))
            })
            .collect();
        names.sort();
        let mut pending: BTreeMap<Arc<str>, BTreeMap<u64, Arc<Entry>>> = BTreeMap::new();
        let mut pending_bytes = 0;
        let mut segments = BTreeMap::new();
        let mut kept_acks: Vec<u64> = Vec::new();
        for (first, path) in names {
            let bytes = fs::read(&path).map_err(io(&path, "cannot read"))?;
            let s = scan(&bytes);
            report.damaged.extend(s.damaged.iter().map(|&(o, n)| Damage { file: path.clone(), offset: o, bytes: n }));
            let mut live = 0;
            for p in &s.payloads {
                let Some(entry) = decode(p) else {
                    report.damaged.push(Damage { file: path.clone(), offset: 0, bytes: p.len() });
                    continue;
                };
                max_seq = max_seq.max(entry.seq);
                if done.contains(&entry.seq) {
                    kept_acks.push(entry.seq);
                    continue;
                }
                live += 1;
                pending_bytes += entry.weight();
                pending.entry(Arc::clone(&entry.new.destination)).or_default().insert(entry.seq, Arc::new(entry));
            }
            if live == 0 {
                fs::remove_file(&path).map_err(io(&path, "cannot remove a delivered segment"))?;
            } else {
                segments.insert(first, Segment { path, live });
            }
        }
        max_seq = max_seq.max(done.iter().copied().max().unwrap_or(0));
        report.pending = pending.values().map(BTreeMap::len).sum();

        // A compacted acks file: only the done entries of segments still kept.
        let mut compacted = Vec::new();
        for seq in kept_acks {
            if segments.range(..=seq).next_back().is_some() {
                frame(&ack_payload(seq, Done::Delivered), &mut compacted);
            }
        }
        let acks_bytes = compacted.len() as u64;
        let tmp = dir.join("acks.log.tmp");
        write_synced(&tmp, &compacted)?;
        fs::rename(&tmp, &acks_path).map_err(io(&acks_path, "cannot replace"))?;
        let acks = OpenOptions::new().append(true).open(&acks_path).map_err(io(&acks_path, "cannot open"))?;

        let next_seq = max_seq + 1;
        let (active, active_path) = new_segment(dir, next_seq)?;
        segments.insert(next_seq, Segment { path: active_path, live: 0 });
        sync_dir(dir)?;
        let outbox = Self {
            dir: dir.to_path_buf(),
            settings,
            next_seq,
            active,
            active_first: next_seq,
            active_bytes: 0,
            segments,
            acks,
            acks_bytes,
            pending,
            pending_bytes,
            acks_synced_at: Instant::now(),
        };
        Ok((outbox, report))
    }

    /// Appends entries and syncs them to disk once, before returning.
    pub fn append(&mut self, batch: Vec<NewEntry>) -> Result<Appended, RouterError> {
        let mut out = Appended::default();
        let mut bytes = Vec::new();
        let mut added = Vec::with_capacity(batch.len());
        for new in batch {
            let entry = Entry { seq: self.next_seq, new };
            self.next_seq += 1;
            let weight = entry.weight();
            if self.pending_bytes + weight > self.settings.max_bytes {
                out.shed.extend(self.shed_for(weight)?);
                if self.pending_bytes + weight > self.settings.max_bytes {
                    if entry.new.retention == Retention::Sheddable {
                        // Nothing older to shed: this UPDATED goes instead. It is
                        // written and marked shed at once, so the record stays honest.
                        let shed = Arc::new(entry);
                        frame(&encode(&shed), &mut bytes);
                        self.write_ack(shed.seq, Done::Shed)?;
                        out.shed.push(shed);
                        continue;
                    }
                    out.over_bound = true;
                }
            }
            frame(&encode(&entry), &mut bytes);
            out.seqs.push(entry.seq);
            // Counted at once, so the rest of the batch sees the bound as it will be.
            self.pending_bytes += weight;
            added.push(Arc::new(entry));
        }
        let active_path = self.dir.join(segment_name(self.active_first));
        if let Err(e) = self.active.write_all(&bytes).and_then(|()| self.active.sync_data()) {
            // Nothing of this batch is accepted. The segment is cut back to its last
            // whole record (a disk that filled mid-write leaves no half record for the
            // next append to follow), and the bytes counted for the batch are given
            // back: once there is space again, appends go on as before.
            let _ = self.active.set_len(self.active_bytes);
            for e in &added {
                self.pending_bytes = self.pending_bytes.saturating_sub(e.weight());
            }
            return Err(io(&active_path, "cannot append")(e));
        }
        self.active_bytes += bytes.len() as u64;
        for e in added {
            if let Some(s) = self.segments.get_mut(&self.active_first) {
                s.live += 1;
            }
            self.pending.entry(Arc::clone(&e.new.destination)).or_default().insert(e.seq, e);
        }
        if self.active_bytes >= self.settings.segment_bytes {
            self.roll()?;
        }
        Ok(out)
    }

    /// Sheds the oldest sheddable entries until `weight` more bytes fit (or none is left).
    fn shed_for(&mut self, weight: u64) -> Result<Vec<Arc<Entry>>, RouterError> {
        let mut victims: Vec<Arc<Entry>> = self
            .pending
            .values()
            .flat_map(|m| m.values())
            .filter(|e| e.new.retention == Retention::Sheddable)
            .cloned()
            .collect();
        victims.sort_by_key(|e| e.seq);
        let mut shed = Vec::new();
        for v in victims {
            if self.pending_bytes + weight <= self.settings.max_bytes {
                break;
            }
            self.finish(&[v.seq], Done::Shed)?;
            shed.push(v);
        }
        Ok(shed)
    }

    fn write_ack(&mut self, seq: u64, done: Done) -> Result<(), RouterError> {
        let mut rec = Vec::with_capacity(24);
        frame(&ack_payload(seq, done), &mut rec);
        let path = self.dir.join("acks.log");
        self.acks.write_all(&rec).map_err(io(&path, "cannot append"))?;
        self.acks_bytes += rec.len() as u64;
        Ok(())
    }

    /// Marks entries done (delivered, dead-lettered or shed). The acks file is synced
    /// at most once a second: an ack lost in a crash only means that entry is sent
    /// again (at-least-once), and an fsync per delivery report would hold up the
    /// appends that the pipeline waits for. Unknown sequence numbers are ignored (an
    /// entry done twice is done).
    pub fn finish(&mut self, seqs: &[u64], how: Done) -> Result<(), RouterError> {
        let mut emptied = Vec::new();
        for &seq in seqs {
            let removed = self.pending.values_mut().find_map(|m| m.remove(&seq));
            let Some(entry) = removed else { continue };
            self.write_ack(seq, how)?;
            self.pending_bytes = self.pending_bytes.saturating_sub(entry.weight());
            if let Some((&first, seg)) = self.segments.range_mut(..=seq).next_back() {
                seg.live = seg.live.saturating_sub(1);
                if seg.live == 0 && first != self.active_first {
                    emptied.push(first);
                }
            }
        }
        let path = self.dir.join("acks.log");
        if self.acks_synced_at.elapsed() >= ACKS_SYNC_INTERVAL {
            self.acks.sync_data().map_err(io(&path, "cannot sync"))?;
            self.acks_synced_at = Instant::now();
        }
        for first in emptied {
            if let Some(seg) = self.segments.remove(&first) {
                fs::remove_file(&seg.path).map_err(io(&seg.path, "cannot remove a delivered segment"))?;
            }
        }
        if self.acks_bytes > 8 << 20 && self.pending_bytes == 0 {
            // Nothing pending: the acks are history; start the file again.
            self.acks.set_len(0).map_err(io(&path, "cannot truncate"))?;
            self.acks_bytes = 0;
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), RouterError> {
        let (file, path) = new_segment(&self.dir, self.next_seq)?;
        sync_dir(&self.dir)?;
        sync_dir(&self.dir)?;
        if self.segments.get(&self.active_first).is_some_and(|s| s.live == 0) {
            if let Some(old) = self.segments.remove(&self.active_first) {
                fs::remove_file(&old.path).map_err(io(&old.path, "cannot remove a delivered segment"))?;
            }
        }
        self.active = file;
        self.active_first = self.next_seq;
        self.active_bytes = 0;
        self.segments.insert(self.next_seq, Segment { path, live: 0 });
        Ok(())
    }

    /// Up to `limit` undelivered entries of `destination` with a sequence number above
    /// `after`, oldest first.
    pub fn pending_after(&self, destination: &str, after: Option<u64>, limit: usize) -> Vec<Arc<Entry>> {
        let Some(m) = self.pending.get(destination) else { return Vec::new() };
        let from = after.map_or(0, |a| a + 1);
        m.range(from..).take(limit).map(|(_, e)| Arc::clone(e)).collect()
    }

    /// Undelivered entries per destination.
    pub fn depth(&self) -> HashMap<Arc<str>, usize> {
        self.pending.iter().map(|(d, m)| (Arc::clone(d), m.len())).collect()
    }

    /// Undelivered entries of one destination.
    pub fn depth_of(&self, destination: &str) -> usize {
        self.pending.get(destination).map_or(0, BTreeMap::len)
    }

    /// Unix ms of the oldest undelivered entry of `destination` (the lowest sequence
    /// number: entries are numbered as they are written).
    pub fn oldest_created_ms(&self, destination: &str) -> Option<i64> {
        self.pending.get(destination)?.values().next().map(|e| e.new.created_ms)
    }

    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.pending.values().all(BTreeMap::is_empty)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        // A clean close leaves every ack on disk (a crash may lose the last second's).
        let _ = self.acks.sync_data();
        let _ = self.active.sync_data();
    }
}

fn new_segment(dir: &Path, first_seq: u64) -> Result<(File, PathBuf), RouterError> {
    let path = dir.join(segment_name(first_seq));
    let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path, "cannot create"))?;
    Ok((file, path))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), RouterError> {
    let mut f = File::create(path).map_err(io(path, "cannot create"))?;
    f.write_all(bytes).map_err(io(path, "cannot write"))?;
    f.sync_all().map_err(io(path, "cannot sync"))
}

/// New and renamed files survive a power cut only once their directory is synced.
fn sync_dir(dir: &Path) -> Result<(), RouterError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir, "cannot sync the directory"))
}
