//! Fair hand-out of frames to inference workers.
//!
//! Cameras are served round-robin from where the last batch stopped, so a busy camera
//! cannot starve a quiet one. A camera whose frame is being analysed is skipped until
//! its result is delivered: at most one frame per camera is in flight, which keeps
//! each camera's results in order for the tracker (its slot meanwhile keeps only the
//! newest frame).

use std::sync::{Arc, Mutex};

use super::feed::FrameFeed;

pub struct FairScheduler<F: FrameFeed> {
    feed: Arc<F>,
    state: Mutex<State>,
}

struct State {
    /// Camera to look at first next time.
    next: usize,
    in_flight: Vec<bool>,
}

impl<F: FrameFeed> FairScheduler<F> {
    pub fn new(feed: Arc<F>) -> Self {
        let cameras = feed.camera_count();
        Self { feed, state: Mutex::new(State { next: 0, in_flight: vec![false; cameras] }) }
    }

    pub fn feed(&self) -> &Arc<F> {
        &self.feed
    }

    /// Takes the waiting frames of up to `max` distinct cameras, round-robin. The
    /// cameras stay in flight until `release`. Cameras added to the feed since the
    /// last call are served too.
    pub fn take_batch(&self, max: usize) -> Vec<(usize, F::Frame)> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let cameras = self.feed.camera_count().max(state.in_flight.len());
        state.in_flight.resize(cameras, false);
        if cameras == 0 {
            return Vec::new();
        }
        let mut batch = Vec::new();
        let start = state.next;
        for offset in 0..cameras {
            if batch.len() >= max {
                break;
            }
            let camera = (start + offset) % cameras;
            if state.in_flight[camera] {
                continue;
            }
            if let Some(frame) = self.feed.take(camera) {
                state.in_flight[camera] = true;
                state.next = (camera + 1) % cameras;
                batch.push((camera, frame));
            }
        }
        batch
    }

    /// Marks cameras as no longer in flight (their results were delivered).
    pub fn release(&self, cameras: impl IntoIterator<Item = usize>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for camera in cameras {
            if let Some(flag) = state.in_flight.get_mut(camera) {
                *flag = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workers::memory_feed::MemoryFeed as VecFeed;

    #[test]
    fn busy_cameras_are_served_in_turn() {
        let feed = Arc::new(VecFeed::new(3));
        let scheduler = FairScheduler::new(Arc::clone(&feed));
        let mut served = Vec::new();
        for _ in 0..6 {
            for c in 0..3 {
                feed.offer(c);
            }
            let batch = scheduler.take_batch(1);
            served.extend(batch.iter().map(|(c, _)| *c));
            scheduler.release(batch.iter().map(|(c, _)| *c));
        }
        assert_eq!(served, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_quiet_camera_is_not_starved_by_a_busy_one() {
        let feed = Arc::new(VecFeed::new(2));
        let scheduler = FairScheduler::new(Arc::clone(&feed));
        feed.offer(0);
        let first = scheduler.take_batch(1);
        scheduler.release([first[0].0]);
        // Camera 0 has a new frame again, and camera 1 now has one: 1 goes first.
        feed.offer(0);
        feed.offer(1);
        let second = scheduler.take_batch(1);
        assert_eq!(second[0].0, 1);
    }

    #[test]
    fn a_camera_in_flight_is_skipped_until_released() {
        let feed = Arc::new(VecFeed::new(2));
        let scheduler = FairScheduler::new(Arc::clone(&feed));
        feed.offer(0);
        let held = scheduler.take_batch(4);
        assert_eq!(held.len(), 1);
        feed.offer(0);
        assert!(scheduler.take_batch(4).is_empty(), "camera 0 is in flight");
        scheduler.release([0]);
        assert_eq!(scheduler.take_batch(4).len(), 1);
    }

    #[test]
    fn a_camera_added_to_the_feed_is_served() {
        let feed = Arc::new(VecFeed::new(0));
        let scheduler = FairScheduler::new(Arc::clone(&feed));
        assert!(scheduler.take_batch(4).is_empty());
        let added = feed.add_camera();
        feed.offer(added);
        let batch = scheduler.take_batch(4);
        assert_eq!(batch.iter().map(|(c, _)| *c).collect::<Vec<_>>(), [added]);
    }

    #[test]
    fn batches_take_distinct_cameras() {
        let feed = Arc::new(VecFeed::new(5));
        let scheduler = FairScheduler::new(Arc::clone(&feed));
        for c in 0..5 {
            feed.offer(c);
        }
        let a = scheduler.take_batch(3);
        let b = scheduler.take_batch(3);
        let cams: Vec<usize> = a.iter().chain(&b).map(|(c, _)| *c).collect();
        assert_eq!(cams, [0, 1, 2, 3, 4]);
    }
}
