//! Events a destination refused for good (too large, not authorised, a topic that
//! never appeared): kept with the reason in a JSON-lines file, so nothing is lost
//! silently and one bad event never blocks the others.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::outbox::Entry;
use crate::RouterError;

pub struct DeadLetters {
    path: PathBuf,
    file: File,
}

impl DeadLetters {
    pub fn open(path: &Path) -> Result<Self, RouterError> {
        let fail =
            |source: std::io::Error| RouterError::Outbox { path: path.to_path_buf(), what: "cannot open", source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
        Ok(Self { path: path.to_path_buf(), file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores the entry with why it was refused; synced before returning.
    pub fn store(&mut self, entry: &Entry, reason: &str, now_ms: i64) -> Result<(), RouterError> {
        let headers: Vec<_> =
            entry.new.headers.iter().map(|(k, v)| json!({"key": k, "value_hex": hex::encode(v)})).collect();
        let line = json!({
            "seq": entry.seq,
            "destination": &*entry.new.destination,
            "key": entry.new.key,
            "reason": reason,
            "failed_at_ms": now_ms,
            "created_ms": entry.new.created_ms,
            "headers": headers,
            "body_hex": hex::encode(&entry.new.body),
        });
        let fail =
            |source: std::io::Error| RouterError::Outbox { path: self.path.clone(), what: "cannot write", source };
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        self.file.write_all(&bytes).map_err(fail)?;
        self.file.sync_data().map_err(fail)
    }
}
