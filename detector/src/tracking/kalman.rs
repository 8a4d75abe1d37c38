//! The constant-velocity Kalman filter of SORT/ByteTrack, on a box's centre x, centre
//! y, aspect ratio (w/h) and height.
//!
//! With a block-diagonal transition (each quantity moves by its own velocity), a
//! measurement that observes the four positions, and diagonal noise, the 8-state
//! filter splits exactly into four independent 2-state filters (position, velocity).
//! That is what this is: the same filter, without 8x8 matrices. As in ByteTrack, the
//! noise scales with the box height, so big and small objects are treated alike.

use crate::geometry::boxes::BoxXyxy;

/// Noise as fractions of the box height. ByteTrack's weights are per frame at 30 fps;
/// ours are per second, since analysed frames come 0.5-10 times a second: a person
/// walks about one body height per second, hence the velocity's scale.
const POSITION_WEIGHT: f64 = 1.0 / 20.0;
const VELOCITY_WEIGHT: f64 = 1.0 / 2.0;

/// One quantity: position `x`, velocity `v`, covariance `[[pxx, pxv], [pxv, pvv]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    x: f64,
    v: f64,
    pxx: f64,
    pxv: f64,
    pvv: f64,
}

impl Axis {
    fn new(x: f64, pos_std: f64, vel_std: f64) -> Self {
        Self { x, v: 0.0, pxx: pos_std * pos_std, pxv: 0.0, pvv: vel_std * vel_std }
    }

    fn predict(&mut self, dt: f64, q_pos: f64, q_vel: f64) {
        self.x += self.v * dt;
        // P = F P F' + Q with F = [[1, dt], [0, 1]].
        let pxx = self.pxx + 2.0 * dt * self.pxv + dt * dt * self.pvv + q_pos;
        let pxv = self.pxv + dt * self.pvv;
        let pvv = self.pvv + q_vel;
        (self.pxx, self.pxv, self.pvv) = (pxx, pxv, pvv);
    }

    fn update(&mut self, z: f64, r: f64) {
        let s = self.pxx + r;
        let (kx, kv) = (self.pxx / s, self.pxv / s);
        let innovation = z - self.x;
        self.x += kx * innovation;
        self.v += kv * innovation;
        let (pxx, pxv, pvv) = (self.pxx, self.pxv, self.pvv);
        self.pxx = (1.0 - kx) * pxx;
        self.pxv = (1.0 - kx) * pxv;
        self.pvv = pvv - kv * pxv;
    }
}

/// The filter of one track.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxFilter {
    cx: Axis,
    cy: Axis,
    aspect: Axis,
    height: Axis,
}

fn measurement(b: &BoxXyxy) -> [f64; 4] {
    let (w, h) = (f64::from(b.width()), f64::from(b.height()).max(1e-3));
    [f64::from(b.x1) + w / 2.0, f64::from(b.y1) + h / 2.0, w / h, h]
}

impl BoxFilter {
    pub fn new(b: &BoxXyxy) -> Self {
        let [cx, cy, a, h] = measurement(b);
        let (p, v) = (2.0 * POSITION_WEIGHT * h, 2.0 * VELOCITY_WEIGHT * h);
        Self {
            cx: Axis::new(cx, p, v),
            cy: Axis::new(cy, p, v),
            aspect: Axis::new(a, 1e-2, 1e-5),
            height: Axis::new(h, p, v),
        }
    }

    /// Moves the state `dt` seconds on.
    pub fn predict(&mut self, dt: f64) {
        let dt = dt.max(0.0);
        let h = self.height.x.max(1.0);
        let q_pos = (POSITION_WEIGHT * h).powi(2) * dt;
        let q_vel = (VELOCITY_WEIGHT * h).powi(2) * dt;
        self.cx.predict(dt, q_pos, q_vel);
        self.cy.predict(dt, q_pos, q_vel);
        self.aspect.predict(dt, 1e-4 * dt, 1e-10 * dt);
        self.height.predict(dt, q_pos, q_vel);
    }

    /// Corrects the state with an observed box.
    pub fn update(&mut self, b: &BoxXyxy) {
        let [cx, cy, a, h] = measurement(b);
        let r = (POSITION_WEIGHT * self.height.x.max(1.0)).powi(2);
        self.cx.update(cx, r);
        self.cy.update(cy, r);
        self.aspect.update(a, 1e-2);
        self.height.update(h, r);
    }

    /// The box the state describes now.
    pub fn bbox(&self) -> BoxXyxy {
        let h = self.height.x.max(1.0);
        let w = (self.aspect.x * h).max(1.0);
        BoxXyxy::from_center(self.cx.x as f32, self.cy.x as f32, w as f32, h as f32)
    }

    /// Centre velocity in pixels per second.
    pub fn velocity(&self) -> (f64, f64) {
        (self.cx.v, self.cy.v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x: f32, y: f32) -> BoxXyxy {
        BoxXyxy { x1: x, y1: y, x2: x + 40.0, y2: y + 80.0 }
    }

    #[test]
    fn a_still_box_stays_put_and_a_moving_one_is_followed() {
        let mut still = BoxFilter::new(&bx(100.0, 100.0));
        for _ in 0..10 {
            still.predict(0.5);
            still.update(&bx(100.0, 100.0));
        }
        assert!(still.bbox().iou(&bx(100.0, 100.0)) > 0.99);

        let mut moving = BoxFilter::new(&bx(0.0, 100.0));
        for i in 1..=20 {
            moving.predict(0.5);
            moving.update(&bx(10.0 * i as f32, 100.0)); // 20 px/s to the right
        }
        let (vx, vy) = moving.velocity();
        assert!((vx - 20.0).abs() < 2.0 && vy.abs() < 1.0, "{vx} {vy}");
        moving.predict(1.0);
        assert!(moving.bbox().iou(&bx(220.0, 100.0)) > 0.8, "{:?}", moving.bbox());
    }
}
