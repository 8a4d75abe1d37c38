//! `streetwatch-bench test-cameras`: serve N RTSP test cameras on 127.0.0.1 until stopped.
//!
//! Faults on demand, one command per line on standard input:
//! `stall /cam2`, `resume /cam2`, `kill` (close everything, stop listening),
//! `restart` (listen again on the same port), `quit`.

use std::io::BufRead;

use ingest::testing::{MountSpec, TestCameraServer, TestSource};

use crate::cli::TestCamerasArgs;
use streetwatch::exit_code;

pub fn test_cameras(args: &TestCamerasArgs) -> i32 {
    let source = match &args.file {
        Some(path) => {
            if !path.is_file() {
                eprintln!("test-cameras: --file {}: no such file", path.display());
                return exit_code::USAGE;
            }
            TestSource::H264File { path: path.clone(), fps: args.fps }
        }
        None => TestSource::Pattern {
            pattern: args.pattern.clone(),
            width: args.width,
            height: args.height,
            fps: args.fps,
            keyframe_interval: args.keyframe_interval.unwrap_or(args.fps * 2),
        },
    };
    let credentials = match (std::env::var("STREETWATCH_TEST_USER"), std::env::var("STREETWATCH_TEST_PASSWORD")) {
        (Ok(u), Ok(p)) if !u.is_empty() && !p.is_empty() => Some((u, p)),
        _ => None,
    };
    let mut mounts = Vec::new();
    for i in 1..=args.count {
        let path = format!("/cam{i}");
        let mut m = MountSpec { path: path.clone(), source: source.clone(), credentials: None };
        if args.protect.contains(&path) {
            match &credentials {
                Some((u, p)) => m = m.with_credentials(u, p),
                None => {
                    eprintln!("test-cameras: --protect needs STREETWATCH_TEST_USER and STREETWATCH_TEST_PASSWORD");
                    return exit_code::USAGE;
                }
            }
        }
        mounts.push(m);
    }
    let mut server = match TestCameraServer::start(args.port, mounts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("test-cameras: {:#}", anyhow::Error::new(e));
            return exit_code::RUNTIME_FAILURE;
        }
    };
    for i in 1..=args.count {
        let path = format!("/cam{i}");
        let lock = if args.protect.contains(&path) { " (password)" } else { "" };
        println!("{}{lock}", server.url(&path));
    }
    println!("ready: commands on stdin: stall PATH | resume PATH | kill | restart | quit");
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["stall", path] => server.stall(path, true),
            ["resume", path] => server.stall(path, false),
            ["kill"] => server.stop(),
            ["restart"] => {
                if let Err(e) = server.restart() {
                    eprintln!("test-cameras: restart failed: {:#}", anyhow::Error::new(e));
                }
            }
            ["quit"] => break,
            [] => continue,
            _ => {
                eprintln!("test-cameras: unknown command `{line}`");
                continue;
            }
        }
        println!("ok {line}");
    }
    exit_code::OK
}
