//! The operator console, connected: it receives incident events as a router
//! destination, reads camera health from ingest and pictures from the incident sink,
//! and sends operator decisions back through the router as REVIEWED events.

use std::sync::{Arc, Weak};
use std::time::Duration;

use console::health::{CameraHealth, CameraHealthSource};
use console::{Console, ConsoleError, ConsoleSettings, ReviewPublisher};
use ingest::CameraHandle;

use super::incident_publisher::Incidents;
use crate::config::Config;

/// Opens the console's database and accounts when `[console]` is enabled.
pub fn open_console(config: &Config) -> Result<Option<Arc<Console>>, ConsoleError> {
    let (Some(listen), Some(users_file)) = (config.console_listen, config.console_users_file.clone()) else {
        return Ok(None);
    };
    let settings = ConsoleSettings {
        listen,
        database: config.console_database.clone(),
        users_file,
        data_dir: config.data_dir.clone(),
        // Beyond loopback the browser reaches the console through TLS (a proxy):
        // Secure unless the config says otherwise.
        secure_cookies: config.console.secure_cookies.unwrap_or(!listen.ip().is_loopback()),
        session_ttl: Duration::from_secs(u64::from(config.console.session_hours) * 3600),
    };
    let console = Console::open(settings)?;
    use_object_storage(config, &console);
    Ok(Some(console))
}

/// With `[storage.s3]`, evidence not on this disk (a cluster's other workers', or
/// swept here by retention) is read from the bucket the workers upload to.
#[cfg(feature = "s3")]
fn use_object_storage(config: &Config, console: &Console) {
    let Some(settings) = &config.evidence_s3 else { return };
    match super::evidence_s3::S3Store::new(settings) {
        Ok(store) => {
            tracing::info!(bucket = %settings.bucket, "console: evidence not on this disk comes from object storage");
            console.use_evidence_store(Arc::new(super::evidence_s3::S3Evidence(store)));
        }
        Err(e) => tracing::error!("console: evidence only from this disk: {e}"),
    }
}

#[cfg(not(feature = "s3"))]
fn use_object_storage(_config: &Config, _console: &Console) {
    // Validation refuses [storage.s3] in a build without the feature.
}

/// Serves the console until `shutdown`, its task added to `tasks`; false (logged)
/// when it cannot listen.
pub async fn serve_console(
    console: Arc<Console>,
    cameras: Arc<dyn CameraHealthSource>,
    reviews: Arc<dyn ReviewPublisher>,
    shutdown: tokio_util::sync::CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> bool {
    match console.serve(cameras, reviews, shutdown).await {
        Ok((bound, task)) => {
            tracing::info!(address = %bound, "operator console: http://{bound}/");
            tasks.spawn(async move {
                let _ = task.await;
            });
            true
        }
        Err(e) => {
            tracing::error!("{e}");
            false
        }
    }
}

/// The router's `console` destination.
pub struct ConsoleDelivery(pub Arc<Console>);

impl router::EventHandler for ConsoleDelivery {
    fn deliver(&self, bodies: &[&[u8]]) -> Result<(), router::error::BoxError> {
        Ok(self.0.deliver(bodies)?)
    }
}

/// Operator decisions into the router, like any incident event. Weak: the console
/// must not keep the router alive at shutdown.
pub struct RouterReviews {
    pub router: Weak<router::Router>,
    /// Camera id → routing group.
    pub groups: Vec<(String, String)>,
}

impl ReviewPublisher for RouterReviews {
    fn publish(&self, event: &proto::v1::Incident) -> Result<(), console::error::BoxError> {
        let router = self.router.upgrade().ok_or("the router has stopped")?;
        let camera = event.camera.as_ref().map_or("", |c| c.camera_id.as_str());
        let group = self.groups.iter().find(|(c, _)| c == camera).map(|(_, g)| g.as_str());
        let at_ms = event.review.as_ref().map_or(0, |r| r.reviewed_at_ms);
        let time = detector::timestamp::Timestamp(at_ms).rfc3339(0);
        let submission = router::Submission { incident: event, camera_group: group, time: &time };
        router.submit(&[submission])?;
        Ok(())
    }
}

/// Camera health as the console shows it: state and fps from ingest, the newest
/// frame and a thumbnail from the incident sink.
pub struct ConsoleCameras {
    pub cameras: Vec<CameraHandle>,
    /// Camera id → (site, grid) from the config, for districts.
    pub places: Vec<(String, String, String)>,
    pub sink: Weak<Incidents>,
}

/// Unix milliseconds of a system time (0 before the epoch).
pub(super) fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl CameraHealthSource for ConsoleCameras {
    fn cameras(&self) -> Vec<CameraHealth> {
        let sink = self.sink.upgrade();
        self.cameras
            .iter()
            .map(|c| {
                let status = c.status.borrow().clone();
                let picture = sink.as_ref().and_then(|s| s.camera_picture(&c.id));
                let (last_frame_ms, thumbnail) = picture.map_or((None, None), |p| (p.last_frame_ms, p.thumbnail));
                let place = self.places.iter().find(|p| *p.0 == *c.id);
                CameraHealth {
                    id: c.id.to_string(),
                    state: ingest::status::state_name(status.state).to_string(),
                    since_ms: unix_ms(status.since),
                    last_error: status.last_error,
                    fps: status.fps,
                    last_frame_ms,
                    has_thumbnail: thumbnail.is_some(),
                    worker: None,
                    site: place.map(|p| p.1.clone()).unwrap_or_default(),
                    grid: place.map(|p| p.2.clone()).unwrap_or_default(),
                }
            })
            .collect()
    }

    fn thumbnail(&self, camera_id: &str) -> Option<Vec<u8>> {
        let sink = self.sink.upgrade()?;
        sink.camera_picture(camera_id)?.thumbnail.map(|j| j.as_ref().clone())
    }
}
