//! `streetwatch console`: one operator console for a whole cluster. It reads every
//! worker's incident events, the operators' decisions and the cameras' status from
//! Kafka in its own consumer group, stores them in its database (idempotently, with
//! its position in each partition in the same transaction), and publishes each new
//! decision to the reviews topic through its own outbox. A console started on an
//! empty database reads the topics from their beginning and rebuilds the same feed
//! and decisions. The pipelines of the cluster serve no console of their own.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use console::health::PublishedCameras;
use router::kafka::group_reader::{GroupReader, GroupReaderSettings};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::exit_code;
use crate::shutdown::watch_signals;
use crate::telemetry::http::{install_metrics_recorder, serve, Readiness};
use crate::wiring::console::{open_console, serve_console, RouterReviews};
use crate::wiring::console_sources::{self, ConsoleSources};
use crate::wiring::router::shared_console_router_settings;

/// The topics the console reads.
fn source_topics(config: &Config) -> Vec<String> {
    let shared = &config.console.shared;
    vec![
        shared.incidents_topic.clone(),
        shared.reviews_topic.clone(),
        config.cluster.camera_status_topic.clone(),
        config.cluster.assignments_topic.clone(),
    ]
}

pub async fn console(config_path: &Path, config: Config) -> anyhow::Result<i32> {
    let at = config_path.display();
    if !config.console.enabled {
        eprintln!("console: {at}: [console] enabled = true is needed (with a users_file)");
        return Ok(exit_code::CONFIG_INVALID);
    }
    let Some(conn) = config.kafka.clone() else {
        eprintln!("console: {at}: needs [router.kafka] (the cluster's incidents are read from it)");
        return Ok(exit_code::CONFIG_INVALID);
    };
    let metrics = install_metrics_recorder()?;
    console_sources::describe_metrics();
    let deadline = Duration::from_secs(config.service.shutdown_deadline_secs);
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone(), deadline).context("cannot install signal handlers")?;
    let ready = Readiness::default();
    ready.set(false);
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listen) = config.http_listen {
        let (bound, task) = serve(listen, metrics, ready.clone(), shutdown.clone()).await?;
        tracing::info!(address = %bound, "metrics and health endpoint: http://{bound}/metrics /healthz /readyz");
        tasks.spawn(async move {
            let _ = task.await;
        });
    }

    // Every topic it reads or writes must exist: a missing one is a deployment error.
    let mut topics = source_topics(&config);
    for t in config.kafka_topics() {
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    if !super::run::check_topics(&config, topics, "reading begins when Kafka is back").await? {
        return Ok(exit_code::CHECK_FAILED);
    }

    let opened = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_console(&config)).await.context("opening the console crashed")?
    };
    let console = match opened {
        Ok(Some(c)) => c,
        Ok(None) => {
            eprintln!("console: {at}: [console] needs enabled = true and a users_file");
            return Ok(exit_code::CONFIG_INVALID);
        }
        Err(e) => {
            tracing::error!("{e}");
            return Ok(exit_code::CHECK_FAILED);
        }
    };

    let settings = shared_console_router_settings(&config);
    let outbox = settings.outbox_dir.clone();
    let router = match tokio::task::spawn_blocking(move || router::Router::start(settings)).await? {
        Ok((r, report)) => {
            if report.pending > 0 {
                tracing::info!(decisions = report.pending, "undelivered decisions recovered; sending them first");
            }
            tracing::info!(outbox = %outbox.display(), "decisions router started");
            Arc::new(r)
        }
        Err(e) => {
            tracing::error!("cannot start the decisions router: {e}");
            return Ok(exit_code::RUNTIME_FAILURE);
        }
    };

    let cameras = PublishedCameras {
        console: Arc::downgrade(&console),
        stale_after: Duration::from_secs(config.console.shared.stale_after_secs),
    };
    let reviews = RouterReviews { router: Arc::downgrade(&router), groups: Vec::new() };
    if !serve_console(Arc::clone(&console), Arc::new(cameras), Arc::new(reviews), shutdown.clone(), &mut tasks).await {
        return Ok(exit_code::RUNTIME_FAILURE);
    }

    let reader_settings = GroupReaderSettings {
        topics: source_topics(&config),
        group_id: config.console.shared.group_id.clone(),
        session_timeout: Duration::from_secs(config.cluster.session_timeout_secs),
        batch_max: 500,
        batch_wait: Duration::from_millis(20),
    };
    let handler = Arc::new(ConsoleSources {
        console: Arc::clone(&console),
        camera_status_topic: config.cluster.camera_status_topic.clone(),
        assignments_topic: config.cluster.assignments_topic.clone(),
    });
    let reader = tokio::task::spawn_blocking(move || GroupReader::start(&conn, &reader_settings, handler)).await?;
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return Ok(exit_code::RUNTIME_FAILURE);
        }
    };
    ready.set(true);
    tracing::info!(group = %config.console.shared.group_id, "console reading the cluster's topics");

    shutdown.cancelled().await;
    ready.set(false);
    tokio::task::spawn_blocking(move || reader.stop()).await.context("stopping the reader crashed")?;
    // Decisions made just before the stop get a moment to leave.
    super::run::stop_router(router, true, Duration::from_secs(2)).await?;
    let finished = tokio::time::timeout(deadline, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::error!(deadline_secs = deadline.as_secs(), "shutdown deadline passed");
        return Ok(exit_code::SHUTDOWN_TIMEOUT);
    }
    tracing::info!("stopped cleanly");
    Ok(exit_code::OK)
}
