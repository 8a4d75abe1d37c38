//! `streetwatch validate`: the config, then the environment it needs. Every check
//! runs and reports, so one run shows everything that is wrong.

use std::time::Duration;

use detector::session::{open_session, ExecutionProviderKind};
use detector::{check_model_io, onnxruntime, verify_model_file};

use crate::cli::ValidateArgs;
use crate::config;
use crate::exit_code;

pub async fn validate(args: &ValidateArgs) -> i32 {
    let config = match config::load(&args.config.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return exit_code::CONFIG_INVALID;
        }
    };
    let zones: usize = config.cameras.iter().map(|c| c.config.zones.len()).sum();
    println!(
        "config {}: ok ({} camera{}, {zones} zone{}, {} destination{})",
        config.file.display(),
        config.cameras.len(),
        plural(config.cameras.len()),
        plural(zones),
        config.router.destinations.len(),
        plural(config.router.destinations.len()),
    );
    for w in &config.warnings {
        println!("  warning: {w}");
    }
    if args.config_only {
        return exit_code::OK;
    }

    let mut failures = 0;
    let manifest = &config.model_manifest;
    let model = match verify_model_file(manifest, &config.model_dir) {
        Ok(v) => {
            println!(
                "model {} {}: ok ({}, {:.1} MB, sha256 {})",
                manifest.name,
                manifest.version,
                v.path.display(),
                v.bytes as f64 / 1e6,
                &v.sha256[..16]
            );
            Some(v)
        }
        Err(e) => {
            println!("model: FAILED: {:#}", anyhow::Error::new(e));
            failures += 1;
            None
        }
    };
    let library = config.onnxruntime_library.clone();
    let runtime = match tokio::task::spawn_blocking(move || onnxruntime(library.as_deref())).await {
        Ok(Ok(rt)) => {
            println!("ONNX Runtime: ok ({})", rt.library.display());
            Some(rt)
        }
        Ok(Err(e)) => {
            println!("ONNX Runtime: FAILED: {:#}", anyhow::Error::new(e));
            failures += 1;
            None
        }
        Err(e) => {
            println!("ONNX Runtime: FAILED: loader crashed: {e}");
            failures += 1;
            None
        }
    };
    if let (Some(rt), Some(model)) = (runtime, model) {
        let manifest = manifest.clone();
        let path = model.path.clone();
        let options = crate::wiring::detection::session_options(&config);
        if options.execution_provider != ExecutionProviderKind::Cpu {
            let (rt, path, name) = (rt.clone(), path.clone(), options.execution_provider.name());
            let checked = tokio::task::spawn_blocking(move || open_session(&rt, &path, &options)).await;
            match checked {
                Ok(Ok((_, None))) => println!("execution provider {name}: ok"),
                Ok(Ok((_, Some(note)))) => {
                    println!("execution provider {name}: warning: {:#}", anyhow::Error::new(note))
                }
                Ok(Err(e)) => {
                    println!("execution provider {name}: FAILED: {:#}", anyhow::Error::new(e));
                    failures += 1;
                }
                Err(e) => {
                    println!("execution provider {name}: FAILED: check crashed: {e}");
                    failures += 1;
                }
            }
        }
        match tokio::task::spawn_blocking(move || check_model_io(&rt, &manifest, &path)).await {
            Ok(Ok(())) => println!("model inputs and outputs: ok (match the manifest)"),
            Ok(Err(e)) => {
                println!("model inputs and outputs: FAILED: {:#}", anyhow::Error::new(e));
                failures += 1;
            }
            Err(e) => {
                println!("model inputs and outputs: FAILED: check crashed: {e}");
                failures += 1;
            }
        }
    }

    if let Some(users) = &config.console_users_file {
        match console::users::Users::load(users) {
            Ok(u) => println!("console accounts: ok ({} account{} in {})", u.len(), plural(u.len()), users.display()),
            Err(e) => {
                println!("console accounts: FAILED: {:#}", anyhow::Error::new(e));
                failures += 1;
            }
        }
    }

    if args.check_broker {
        match (&config.kafka, config.router.kafka.as_ref()) {
            (Some(conn), Some(k)) => {
                let timeout = Duration::from_secs(args.broker_timeout_secs.unwrap_or(k.probe_timeout_secs));
                let conn = conn.clone();
                let topics = config.kafka_topics();
                match tokio::task::spawn_blocking(move || router::probe_brokers(&conn, &topics, timeout)).await {
                    Ok(Ok(report)) => println!(
                        "Kafka: ok ({} broker{}, topics {:?}, {} ms)",
                        report.brokers,
                        plural(report.brokers),
                        report.topics_checked,
                        report.elapsed.as_millis()
                    ),
                    Ok(Err(e)) => {
                        println!("Kafka: FAILED: {:#}", anyhow::Error::new(e));
                        failures += 1;
                    }
                    Err(e) => {
                        println!("Kafka: FAILED: probe crashed: {e}");
                        failures += 1;
                    }
                }
            }
            _ => println!("Kafka: skipped (no [router.kafka] in the config)"),
        }
    }

    if failures == 0 {
        exit_code::OK
    } else {
        eprintln!("validate: {failures} check{} failed", plural(failures));
        exit_code::CHECK_FAILED
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
