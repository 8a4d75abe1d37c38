//! A worker's own HTTP endpoint on `http.listen`, up for the worker's whole life
//! (a pipeline comes and goes with the worker's share of cameras): `/healthz`,
//! `/readyz` (ready when it runs no camera, or its pipeline is ready), and
//! `/metrics`: the worker's gauges followed by its pipeline's metrics, fetched from
//! the pipeline's own endpoint on a free loopback port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::telemetry::http::local_get;

/// What the worker reports about itself.
#[derive(Default)]
pub struct WorkerStatus {
    pub cameras: AtomicU64,
    pub pipeline_starts: AtomicU64,
    /// Camera changes the running pipeline applied without a restart.
    pub reloads: AtomicU64,
    /// The running pipeline's own endpoint (loopback).
    pub pipeline_addr: std::sync::Mutex<Option<SocketAddr>>,
}

impl WorkerStatus {
    fn pipeline_addr(&self) -> Option<SocketAddr> {
        *self.pipeline_addr.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn pipeline(status: &WorkerStatus, path: &'static str) -> Option<(u16, String)> {
    let addr = status.pipeline_addr()?;
    tokio::task::spawn_blocking(move || local_get(addr, path, Duration::from_secs(3)).ok()).await.ok().flatten()
}

pub async fn serve(
    listen: SocketAddr,
    status: Arc<WorkerStatus>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("http.listen {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    let (ready_status, metrics_status) = (Arc::clone(&status), Arc::clone(&status));
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let status = Arc::clone(&ready_status);
                async move {
                    if status.cameras.load(Ordering::Relaxed) == 0 {
                        return (StatusCode::OK, "ready (no cameras assigned)\n".to_string());
                    }
                    match pipeline(&status, "/readyz").await {
                        Some((200, _)) => (StatusCode::OK, "ready\n".to_string()),
                        _ => (StatusCode::SERVICE_UNAVAILABLE, "pipeline starting\n".to_string()),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let status = Arc::clone(&metrics_status);
                async move {
                    let mut text = format!(
                        "# HELP streetwatch_worker_cameras Cameras this worker runs now.\n\
                         # TYPE streetwatch_worker_cameras gauge\nstreetwatch_worker_cameras {}\n\
                         # HELP streetwatch_worker_pipeline_starts_total Pipelines started (the first, and after one failed or exited).\n\
                         # TYPE streetwatch_worker_pipeline_starts_total counter\nstreetwatch_worker_pipeline_starts_total {}\n\
                         # HELP streetwatch_worker_camera_reloads_total Changes of the worker's cameras applied by the running pipeline.\n\
                         # TYPE streetwatch_worker_camera_reloads_total counter\nstreetwatch_worker_camera_reloads_total {}\n",
                        status.cameras.load(Ordering::Relaxed),
                        status.pipeline_starts.load(Ordering::Relaxed),
                        status.reloads.load(Ordering::Relaxed),
                    );
                    if status.cameras.load(Ordering::Relaxed) > 0 {
                        if let Some((200, body)) = pipeline(&status, "/metrics").await {
                            text.push_str(&body);
                        }
                    }
                    text
                }
            }),
        );
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
        if let Err(e) = served {
            tracing::error!("worker endpoint: {e}");
        }
    });
    Ok((bound, task))
}
