//! Takes frames out of the camera slots, round-robin, on an OS thread.
//!
//! `bench-ingest` uses it to measure ingest alone: it takes frames the way the
//! detector's workers do (newest frame per camera, fair across cameras) and releases
//! each at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ingest::{CameraHandle, Doorbell};
use metrics::counter;

pub struct FrameDrain {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FrameDrain {
    pub fn start(cameras: Vec<CameraHandle>, doorbell: Arc<Doorbell>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("frame-drain".into()).spawn(move || {
            let mut seen = doorbell.count();
            while !stop_flag.load(Ordering::Relaxed) {
                for camera in &cameras {
                    if let Some(frame) = camera.slot.take() {
                        counter!("streetwatch_pipeline_frames_taken_total", "camera" => camera.id.to_string())
                            .increment(1);
                        drop(frame);
                    }
                }
                seen = doorbell.wait_after(seen, Duration::from_millis(200));
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for FrameDrain {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
