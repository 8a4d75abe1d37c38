//! `streetwatch run`: start every component, serve health and metrics, and shut
//! down gracefully on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use detector::incident_stage::evidence_worker::WhenFull;
use detector::incident_stage::{IncidentStage, StageSettings};
use ingest::Doorbell;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::exit_code;
use crate::shutdown::watch_signals;
use crate::telemetry::http::{install_metrics_recorder, serve, Readiness};
use crate::telemetry::metrics_catalog;
use crate::wiring::analysis::camera_setup;
use crate::wiring::camera_set::{CameraSet, CameraSetParts};
use crate::wiring::cameras::prepare_cameras;
use crate::wiring::console::{open_console, serve_console, ConsoleCameras, ConsoleDelivery, RouterReviews};
use crate::wiring::detection::{load_model, start_detection, IngestFeed};
use crate::wiring::incident_publisher::{self, IncidentPublisher, Incidents, PublisherOptions};
use crate::wiring::router::router_settings;

/// Checks that the brokers answer and `topics` exist. False when a topic is missing
/// (a deployment error: the caller exits 4); an unreachable broker is only logged,
/// with `meanwhile` saying what happens until it is back.
pub async fn check_topics(config: &Config, topics: Vec<String>, meanwhile: &str) -> anyhow::Result<bool> {
    let Some(conn) = config.kafka.clone().filter(|_| !topics.is_empty()) else { return Ok(true) };
    let timeout = Duration::from_secs(config.router.kafka.as_ref().map_or(5, |k| k.probe_timeout_secs));
    let probe = tokio::task::spawn_blocking(move || router::probe_brokers(&conn, &topics, timeout))
        .await
        .context("the broker check crashed")?;
    match probe {
        Ok(report) => tracing::info!(brokers = report.brokers, topics = ?report.topics_checked, "Kafka reachable"),
        Err(e @ router::RouterError::TopicMissing { .. }) => {
            tracing::error!("{e}");
            return Ok(false);
        }
        Err(e) => tracing::warn!("{e}; starting anyway: {meanwhile}"),
    }
    Ok(true)
}

/// Opens the outbox (reporting what it recovered and any damage), checks the Kafka
/// topics, and starts delivery. A topic that does not exist stops startup (exit 4);
/// an unreachable broker does not: events wait in the outbox until it is back.
async fn start_router(
    config: &Config,
    console: Option<Arc<dyn router::EventHandler>>,
) -> anyhow::Result<Result<router::Router, i32>> {
    if !check_topics(config, config.kafka_topics(), "events wait in the outbox until Kafka is back").await? {
        return Ok(Err(exit_code::CHECK_FAILED));
    }
    let settings = router_settings(config, console);
    let outbox_dir = settings.outbox_dir.clone();
    let started = tokio::task::spawn_blocking(move || router::Router::start(settings))
        .await
        .context("starting the router crashed")?;
    match started {
        Ok((router, report)) => {
            for d in &report.damaged {
                tracing::error!(file = %d.file.display(), offset = d.offset, bytes = d.bytes, "outbox damage skipped; the good records around it are kept");
            }
            if report.pending > 0 {
                tracing::info!(
                    events = report.pending,
                    "undelivered events recovered from the outbox; sending them first"
                );
            }
            tracing::info!(outbox = %outbox_dir.display(), "router started");
            Ok(Ok(router))
        }
        Err(e) => {
            tracing::error!("cannot start the router: {e}");
            Ok(Err(exit_code::RUNTIME_FAILURE))
        }
    }
}

/// Stops delivery. After a run that analysed its files to the end, waits (up to
/// `deadline`) for the last events to be delivered first. What is left stays in the
/// outbox for the next start, and is said.
pub async fn stop_router(router: Arc<router::Router>, drain: bool, deadline: Duration) -> anyhow::Result<()> {
    let left = tokio::task::spawn_blocking(move || {
        if drain {
            router.wait_delivered(deadline);
        }
        match Arc::try_unwrap(router) {
            Ok(r) => r.stop(),
            Err(shared) => shared.undelivered(),
        }
    })
    .await
    .context("stopping the router crashed")?;
    if left > 0 {
        tracing::warn!(events = left, "undelivered events stay in the outbox; they are sent at the next start");
    }
    Ok(())
}

/// The evidence uploader for `[storage.s3]` (builds with the `s3` feature).
#[cfg(feature = "s3")]
fn evidence_uploader(config: &Config) -> anyhow::Result<Option<Arc<crate::wiring::evidence_upload::EvidenceUploader>>> {
    use crate::wiring::evidence_upload::{describe_metrics, EvidenceUploader};
    let Some(settings) = &config.evidence_s3 else { return Ok(None) };
    describe_metrics();
    let store = crate::wiring::evidence_s3::S3Store::new(settings).map_err(anyhow::Error::msg)?;
    let prefix = store.uri_prefix();
    tracing::info!(bucket = %settings.bucket, endpoint = %settings.endpoint, "evidence also goes to object storage");
    let uploader = EvidenceUploader::start(Box::new(move |key, bytes| store.put(key, bytes)), prefix)?;
    Ok(Some(Arc::new(uploader)))
}

#[cfg(not(feature = "s3"))]
fn evidence_uploader(
    _config: &Config,
) -> anyhow::Result<Option<Arc<crate::wiring::evidence_upload::EvidenceUploader>>> {
    // Validation refuses [storage.s3] in a build without the feature.
    Ok(None)
}

/// Evidence retention, once at startup and then every 10 minutes, off the runtime's
/// workers. It asks the sink which incidents are open.
fn spawn_retention(config: &Config, sink: Arc<Incidents>, shutdown: &CancellationToken, tasks: &mut JoinSet<()>) {
    use crate::wiring::retention::{describe_metrics, sweep, RetentionPolicy};
    describe_metrics();
    let policy = RetentionPolicy {
        max_age: Duration::from_secs(u64::from(config.storage.evidence_retention_days) * 86_400),
        max_bytes: config.storage.evidence_max_bytes,
    };
    let dir = config.data_dir.join("evidence");
    let shutdown = shutdown.clone();
    // Weak: the sweep must not keep the sink (and through it the router) alive.
    let sink = Arc::downgrade(&sink);
    tasks.spawn(async move {
        loop {
            let Some(live) = sink.upgrade() else { return };
            let (dir, policy) = (dir.clone(), policy.clone());
            let swept = tokio::task::spawn_blocking(move || {
                sweep(&dir, &policy, &live.open_incident_ids(), std::time::SystemTime::now())
            })
            .await;
            if let Ok(s) = swept {
                if s.removed_files > 0 {
                    tracing::info!(
                        files = s.removed_files,
                        bytes = s.removed_bytes,
                        kept_open = s.kept_open,
                        "evidence retention"
                    );
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            }
        }
    });
}

/// Waits until the detector has taken every camera's last frame (or `limit` passes,
/// or shutdown is asked for).
async fn wait_until_slots_empty(
    cameras: &[ingest::CameraHandle],
    shutdown: &CancellationToken,
    limit: Duration,
) -> bool {
    let start = tokio::time::Instant::now();
    loop {
        if cameras.iter().all(|c| c.slot.is_empty()) {
            return true;
        }
        if shutdown.is_cancelled() || start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What differs between `run` and `replay`.
#[derive(Default)]
pub struct RunOptions {
    /// Time zero of fast files' clocks (replay: fixed, so the output is the same).
    pub stream_time_base: Option<detector::timestamp::Timestamp>,
    /// Called once the pipeline runs, with the analysis sink (replay's progress).
    pub on_started: Option<Box<dyn FnOnce(Arc<Incidents>) + Send>>,
    /// Write annotated videos here (replay `--annotate`).
    pub annotate_dir: Option<std::path::PathBuf>,
    /// Shut down gracefully when this is cancelled (as on SIGTERM).
    pub stop: Option<CancellationToken>,
    /// Take camera changes from the worker on stdin while running (a cluster
    /// worker's pipeline): the config file and the cameras file to reload.
    pub control: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Filled in at the end: how the run ended (replay's summary).
    pub report: Option<Arc<std::sync::OnceLock<RunReport>>>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Every camera ended by itself (files played out or failed), not a signal.
    pub all_finished: bool,
    /// Cameras whose file could not be analysed: (id, why).
    pub failed: Vec<(String, String)>,
}

/// A token cancelled when this process's parent goes away (it is re-parented): a
/// worker's pipeline must not outlive the worker, or its cameras would run twice
/// once the group hands them to another worker.
pub fn stop_when_parent_exits() -> CancellationToken {
    let token = CancellationToken::new();
    let parent = std::os::unix::process::parent_id();
    let t = token.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!("the worker that started this pipeline is gone; stopping");
                t.cancel();
                return;
            }
        }
    });
    token
}

pub async fn run(config: Config) -> anyhow::Result<i32> {
    run_with(config, RunOptions::default()).await
}

pub async fn run_with(config: Config, options: RunOptions) -> anyhow::Result<i32> {
    let metrics = install_metrics_recorder()?;
    metrics_catalog::describe_process_metrics();
    incident_publisher::describe_metrics();
    detector::incident_stage::describe_metrics();
    metrics_catalog::record_startup(config.cameras.len());

    let deadline = Duration::from_secs(config.service.shutdown_deadline_secs);
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone(), deadline).context("cannot install signal handlers")?;
    if let Some(stop) = options.stop.clone() {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            shutdown.cancel();
        });
    }
    // Camera status stops after the cameras, not with the signal.
    let status_shutdown = CancellationToken::new();
    let ready = Readiness::default();
    ready.set(false);

    let mut components: JoinSet<()> = JoinSet::new();
    if let Some(listen) = config.http_listen {
        let (bound, task) = serve(listen, metrics, ready.clone(), shutdown.clone()).await?;
        tracing::info!(address = %bound, "metrics and health endpoint: http://{bound}/metrics /healthz /readyz");
        components.spawn(async move {
            let _ = task.await;
        });
    }
    for w in &config.warnings {
        tracing::warn!("config: {w}");
    }
    // The model is verified before any camera starts: a bad model stops here, clearly.
    let model = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || load_model(&config)).await.context("model loading crashed")?
    };
    let model = match model {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("{e}");
            return Ok(exit_code::CHECK_FAILED);
        }
    };
    tracing::info!(model = %model.path.display(), sha256 = %model.sha256, "model verified");
    ingest::init()?;
    let doorbell = Arc::new(Doorbell::default());
    let (status_events, _) = broadcast::channel(1024);
    let (camera_workers, cameras) = prepare_cameras(&config.cameras, &doorbell, &status_events);
    // The worker's pipe closing counts as the worker going away.
    let orphaned = options.stop.clone().unwrap_or_default();
    // The console's database and accounts before the router: it is one of the
    // router's destinations.
    // A cluster's pipelines leave the console to the shared one (`streetwatch
    // console`), which reads every worker's events from Kafka.
    let console = if config.cluster.enabled {
        if config.console.enabled {
            tracing::info!("console: not served by a cluster worker; `streetwatch console` serves the whole cluster");
        }
        Ok(None)
    } else {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_console(&config)).await.context("opening the console crashed")?
    };
    let console = match console {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return Ok(exit_code::CHECK_FAILED);
        }
    };
    let console_handler =
        console.as_ref().map(|c| Arc::new(ConsoleDelivery(Arc::clone(c))) as Arc<dyn router::EventHandler>);
    // Inference sessions open before any camera streams, so a detector that cannot
    // start (a required GPU provider missing) stops here with nothing to clean up.
    let router = match start_router(&config, console_handler).await? {
        Ok(r) => Arc::new(r),
        Err(code) => return Ok(code),
    };
    let clips = if config.storage.clips {
        crate::wiring::clips::describe_metrics();
        Some(crate::wiring::clips::ClipWriter::start().context("cannot start the clip writer")?)
    } else {
        None
    };
    let uploader = match evidence_uploader(&config) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("cannot reach the evidence object storage: {e:#}");
            return Ok(exit_code::RUNTIME_FAILURE);
        }
    };
    let publisher_options = PublisherOptions { clips, annotate_dir: options.annotate_dir.clone(), uploader };
    let publisher = Arc::new(IncidentPublisher::new(&config, Arc::clone(&router), publisher_options));
    let stage_settings = StageSettings {
        data_dir: config.data_dir.clone(),
        thumbnails: console.is_some(),
        annotate: options.annotate_dir.is_some(),
        // A replay (fixed stream time) waits for room, so its output does not
        // depend on the machine's speed; live cameras never hold up inference.
        evidence_when_full: if options.stream_time_base.is_some() { WhenFull::Wait } else { WhenFull::Drop },
        ..StageSettings::default()
    };
    let incidents: Arc<Incidents> = match IncidentStage::new(Arc::clone(&publisher), stage_settings) {
        Ok(stage) => Arc::new(stage),
        Err(e) => {
            tracing::error!("cannot start the detector: {:#}", anyhow::Error::new(e));
            return Ok(exit_code::RUNTIME_FAILURE);
        }
    };
    for handle in &cameras {
        incidents.add_camera(camera_setup(&config, handle, options.stream_time_base));
    }
    if let Some(console) = console {
        let places = config
            .cameras
            .iter()
            .map(|c| {
                let cfg = &c.config;
                (cfg.id.clone(), cfg.site.clone().unwrap_or_default(), cfg.grid.clone().unwrap_or_default())
            })
            .collect();
        let health = ConsoleCameras { cameras: cameras.clone(), places, sink: Arc::downgrade(&incidents) };
        let groups =
            config.cameras.iter().filter_map(|c| c.config.group.clone().map(|g| (c.config.id.clone(), g))).collect();
        let reviews = RouterReviews { router: Arc::downgrade(&router), groups };
        if !serve_console(console, Arc::new(health), Arc::new(reviews), shutdown.clone(), &mut components).await {
            return Ok(exit_code::RUNTIME_FAILURE);
        }
    }
    let status_out = crate::wiring::camera_status_out::spawn(
        &config,
        &cameras,
        &status_events,
        Arc::downgrade(&incidents),
        &status_shutdown,
        orphaned.clone(),
    )
    .map(Arc::new);
    let incidents_at_end = Arc::clone(&incidents);
    spawn_retention(&config, Arc::clone(&incidents), &shutdown, &mut components);
    if let Some(started) = options.on_started {
        started(Arc::clone(&incidents));
    }
    let feed = Arc::new(IngestFeed::new(&config, &cameras, Arc::clone(&doorbell)));
    let detection = match start_detection(&config, &model, Arc::clone(&feed), Arc::clone(&incidents)) {
        Ok(pool) => pool,
        Err(e) => {
            let code = match e {
                detector::DetectorError::Worker { .. } => exit_code::RUNTIME_FAILURE,
                _ => exit_code::CHECK_FAILED,
            };
            tracing::error!("cannot start the detector: {:#}", anyhow::Error::new(e));
            return Ok(code);
        }
    };
    let camera_set = Arc::new(CameraSet::new(CameraSetParts {
        feed,
        sink: incidents,
        stream_time_base: options.stream_time_base,
        status: status_out.clone(),
        doorbell: Arc::clone(&doorbell),
        events: status_events.clone(),
        shutdown: shutdown.clone(),
    }));
    camera_set.start_initial(camera_workers.into_iter().zip(cameras.iter().cloned()).collect()).await;
    let controlled = options.control.is_some();
    let control_task = options.control.map(|(config_path, cameras_file)| {
        let control = crate::wiring::camera_control::Control {
            config_path,
            cameras_file,
            cameras: Arc::clone(&camera_set),
            orphaned: orphaned.clone(),
        };
        // Not among the components: it would wait for stdin; stopped below.
        tokio::spawn(control.serve())
    });

    ready.set(true);
    tracing::info!(instance = %config.service.instance, cameras = cameras.len(), "streetwatch running");
    let all_finished = tokio::select! {
        _ = shutdown.cancelled() => false,
        // Only files without `loop` finish by themselves; live cameras run until
        // shutdown, and a worker's pipeline may be given cameras at any time.
        _ = camera_set.all_ended(), if !cameras.is_empty() && !controlled => true,
    };
    // A signal also ends the cameras, so both branches can be ready when the select
    // is polled and it picks one at random: a run that was signalled was interrupted,
    // whichever branch won (the token is cancelled before any camera sees it).
    let all_finished = all_finished && !shutdown.is_cancelled();
    ready.set(false);
    // Files that could not be analysed (the camera ended `failed`, with the reason).
    let failed: Vec<(String, String)> = cameras
        .iter()
        .filter_map(|c| {
            let s = c.status.borrow();
            (s.state == ingest::CameraState::Failed)
                .then(|| (c.id.to_string(), s.last_error.clone().unwrap_or_default()))
        })
        .collect();
    if all_finished && !failed.is_empty() {
        for (camera, why) in &failed {
            tracing::error!(camera = %camera, "could not be analysed: {why}");
        }
        tracing::info!(failed = failed.len(), "every camera ended; analysing the last frames, then stopping");
    } else if all_finished {
        tracing::info!("every camera finished its file; analysing the last frames, then stopping");
    }
    if all_finished {
        let drained = wait_until_slots_empty(&cameras, &shutdown, deadline).await;
        if !drained {
            tracing::warn!("frames were still waiting for the detector when it stopped");
        }
    }
    // Inference threads finish their current batch (its incidents reach the outbox);
    // frames still in slots are dropped.
    tokio::task::spawn_blocking(move || detection.stop()).await.context("stopping the detector crashed")?;
    shutdown.cancel();
    if let Some(task) = control_task {
        task.abort();
        let _ = task.await;
    }
    camera_set.join_all().await;
    // After the cameras stopped: their last records say `stopped`.
    status_shutdown.cancel();
    drop(camera_set);
    if let Some(status) = status_out.and_then(|s| Arc::try_unwrap(s).ok()) {
        let _ = status.task.await;
    }
    // Clips still waiting for their post-roll are written with what was recorded;
    // annotated videos are completed.
    tokio::task::spawn_blocking(move || {
        incidents_at_end.finish_evidence();
        let publisher = incidents_at_end.output();
        publisher.finish_clips();
        publisher.finish_annotations();
        publisher.finish_uploads();
    })
    .await
    .context("writing the last clips crashed")?;
    stop_router(router, all_finished, deadline).await?;

    let finished = tokio::time::timeout(deadline, async { while components.join_next().await.is_some() {} }).await;
    match finished {
        Ok(()) if all_finished && !failed.is_empty() => {
            tracing::info!("stopped cleanly");
            if let Some(report) = options.report.as_ref() {
                let _ = report.set(RunReport { all_finished, failed });
            }
            Ok(exit_code::INPUT_FAILED)
        }
        Ok(()) => {
            tracing::info!("stopped cleanly");
            if let Some(report) = options.report.as_ref() {
                let _ = report.set(RunReport { all_finished, failed });
            }
            Ok(exit_code::OK)
        }
        Err(_) => {
            tracing::error!(
                deadline_secs = deadline.as_secs(),
                "shutdown deadline passed; exiting with components still running"
            );
            Ok(exit_code::SHUTDOWN_TIMEOUT)
        }
    }
}
