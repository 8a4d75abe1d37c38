//! `streetwatch assign`: publishes the config's cameras to the compacted assignment
//! topic, as the workers will read them: one record per camera (key = id, value =
//! the camera's table as TOML, exactly as written, `${VAR}` references unexpanded,
//! so no secret enters the topic). Only changes are written: new and changed cameras,
//! and tombstones for cameras no longer in the config.

use std::collections::BTreeMap;
use std::time::Duration;

use router::kafka::assignments::{publish, read_all};

use crate::cli::AssignArgs;
use crate::config;
use crate::exit_code;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Each camera's table as written in the file, by id.
fn camera_tables(path: &std::path::Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for camera in table.get("cameras").and_then(|c| c.as_array()).into_iter().flatten() {
        let Some(t) = camera.as_table() else { continue };
        let id = t.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let body = toml::to_string(t).map_err(|e| format!("camera `{id}`: {e}"))?;
        out.insert(id, body.into_bytes());
    }
    Ok(out)
}

pub async fn assign(args: &AssignArgs) -> i32 {
    // The whole config must be valid: a bad camera is refused here, not by every worker.
    let config = match config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return exit_code::CONFIG_INVALID;
        }
    };
    let Some(conn) = config.kafka.clone() else {
        eprintln!("assign: {}: needs [router.kafka] and [cluster]", args.config.display());
        return exit_code::CONFIG_INVALID;
    };
    let wanted = match camera_tables(&args.config) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("assign: {e}");
            return exit_code::CONFIG_INVALID;
        }
    };
    let topic = config.cluster.assignments_topic.clone();
    let dry_run = args.dry_run;
    let done = tokio::task::spawn_blocking(move || -> Result<(usize, usize, usize, usize), String> {
        let current = read_all(&conn, &topic, TIMEOUT).map_err(|e| e.to_string())?;
        let mut records = Vec::new();
        let (mut added, mut changed, mut same) = (0, 0, 0);
        for (id, body) in &wanted {
            match current.get(id) {
                None => added += 1,
                Some(old) if old != body => changed += 1,
                Some(_) => {
                    same += 1;
                    continue;
                }
            }
            records.push((id.clone(), Some(body.clone())));
        }
        let removed: Vec<String> = current.keys().filter(|id| !wanted.contains_key(*id)).cloned().collect();
        records.extend(removed.iter().map(|id| (id.clone(), None)));
        if !dry_run && !records.is_empty() {
            publish(&conn, &topic, &records, TIMEOUT).map_err(|e| e.to_string())?;
        }
        Ok((added, changed, removed.len(), same))
    })
    .await;
    match done {
        Ok(Ok((added, changed, removed, same))) => {
            let verb = if args.dry_run { "would publish" } else { "published" };
            println!(
                "{verb} to `{}`: {added} added, {changed} changed, {removed} removed, {same} unchanged",
                config.cluster.assignments_topic
            );
            exit_code::OK
        }
        Ok(Err(e)) => {
            eprintln!("assign: {e}");
            exit_code::CHECK_FAILED
        }
        Err(e) => {
            eprintln!("assign: crashed: {e}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
