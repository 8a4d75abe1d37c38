//! A cluster worker's pipeline takes its camera list from the worker while it runs
//! (`run --cameras-control`), so that a rebalance stops and starts only the cameras
//! that move. The worker rewrites the cameras file and writes `reload` on the
//! pipeline's stdin; the pipeline reads the file again, stops the cameras no longer
//! listed (or whose table changed), starts the new ones, and answers on stdout:
//! `applied <cameras running>`, or `failed <why>` (then the worker restarts it).
//! Stdout carries nothing else (the logs go to stderr). The end of stdin means the
//! worker is gone: the pipeline stops.
//!
//! A pipe rather than a signal or an HTTP call: it is private to the two processes,
//! it carries the answer the worker waits for before it lets the group hand the
//! cameras on, and it closes by itself when the worker dies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use super::camera_set::CameraSet;
use crate::config::{self, Config};

/// The `[[cameras]]` tables of a cameras file, by id, as written (to see which
/// changed).
pub fn camera_tables(path: &Path) -> Result<BTreeMap<String, toml::Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: not valid TOML: {e}", path.display()))?;
    let list = match doc.get("cameras") {
        Some(toml::Value::Array(list)) => list.clone(),
        Some(_) => return Err(format!("{}: `cameras` is not an array of tables", path.display())),
        None => Vec::new(),
    };
    let mut tables = BTreeMap::new();
    for table in list {
        let Some(id) = table.get("id").and_then(toml::Value::as_str).map(str::to_string) else {
            return Err(format!("{}: a camera without an `id`", path.display()));
        };
        tables.insert(id, table);
    }
    Ok(tables)
}

/// Which cameras to stop and which to start to go from `old` to `new`.
pub fn changes(old: &BTreeMap<String, toml::Value>, new: &BTreeMap<String, toml::Value>) -> (Vec<String>, Vec<String>) {
    let stop = old.iter().filter(|(id, t)| new.get(*id) != Some(t)).map(|(id, _)| id.clone()).collect();
    let start = new.iter().filter(|(id, t)| old.get(*id) != Some(t)).map(|(id, _)| id.clone()).collect();
    (stop, start)
}

pub struct Control {
    pub config_path: PathBuf,
    pub cameras_file: PathBuf,
    pub cameras: Arc<CameraSet>,
    /// Cancelled when stdin ends (the worker is gone).
    pub orphaned: CancellationToken,
}

impl Control {
    /// Reloads the cameras file; returns the cameras running after it.
    async fn reload(&self, tables: &mut BTreeMap<String, toml::Value>) -> Result<usize, String> {
        let new_tables = camera_tables(&self.cameras_file)?;
        let (config_path, cameras_file) = (self.config_path.clone(), self.cameras_file.clone());
        let loaded: Config =
            tokio::task::spawn_blocking(move || config::load_with_cameras(&config_path, &cameras_file))
                .await
                .map_err(|e| format!("reloading crashed: {e}"))?
                .map_err(|e| e.to_string().replace('\n', "; "))?;
        let (stop, start) = changes(tables, &new_tables);
        for id in &stop {
            self.cameras.remove(id).await;
        }
        for id in &start {
            if let Some(camera) = loaded.cameras.iter().find(|c| &c.config.id == id) {
                self.cameras.add(&loaded, camera).await;
            }
        }
        *tables = new_tables;
        tracing::info!(stopped = stop.len(), started = start.len(), "cameras reloaded");
        Ok(self.cameras.ids().await.len())
    }

    /// Serves the worker's commands until stdin ends.
    pub async fn serve(self) {
        let mut tables = match camera_tables(&self.cameras_file) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("camera control: {e}");
                BTreeMap::new()
            }
        };
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut out = tokio::io::stdout();
        loop {
            let line = match lines.next_line().await {
                Ok(Some(l)) => l,
                Ok(None) | Err(_) => break,
            };
            let answer = match line.trim() {
                "reload" => match self.reload(&mut tables).await {
                    Ok(n) => format!("applied {n}\n"),
                    Err(e) => {
                        tracing::error!("camera control: {e}");
                        format!("failed {e}\n")
                    }
                },
                other => format!("failed unknown command `{other}`\n"),
            };
            if out.write_all(answer.as_bytes()).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
        tracing::warn!("the worker that started this pipeline is gone (its pipe closed); stopping");
        self.orphaned.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: &str, url: &str) -> (String, toml::Value) {
        let mut t = toml::Table::new();
        t.insert("id".into(), id.into());
        t.insert("url".into(), url.into());
        (id.to_string(), toml::Value::Table(t))
    }

    #[test]
    fn only_cameras_that_come_go_or_change_are_touched() {
        let old: BTreeMap<_, _> = [table("a", "rtsp://x/a"), table("b", "rtsp://x/b"), table("c", "rtsp://x/c")].into();
        let new: BTreeMap<_, _> =
            [table("a", "rtsp://x/a"), table("c", "rtsp://x/c2"), table("d", "rtsp://x/d")].into();
        let (stop, start) = changes(&old, &new);
        assert_eq!(stop, ["b", "c"]);
        assert_eq!(start, ["c", "d"]);
        assert_eq!(changes(&new, &new), (vec![], vec![]));
    }
}
