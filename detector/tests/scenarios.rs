//! Scenario tests: scripted detections and a fake clock through the whole analysis of
//! one camera (tracker, stillness, zones, rules, incident lifecycles), one scenario
//! per rule and per lifecycle promise. Defaults are the documented ones
//! (docs/config.md): dwell 120 / 300 / 180 s, clear 30 s, updates at most every 60 s.

use std::sync::Arc;

use detector::analysis::CameraAnalysis;
use detector::geometry::boxes::BoxXyxy;
use detector::incidents::{Cause, IncidentEvent, Phase};
use detector::rules::settings::{
    BikeClusterSettings, IncidentTiming, RuleSettings, SidewalkParkingSettings, StreetVendingSettings,
};
use detector::rules::RuleKind;
use detector::timestamp::Timestamp;
use detector::tracking::tracker::TrackerSettings;
use detector::zones::{Anchor, Zone, ZoneKind};
use detector::Detection;

const PERSON: usize = 0;
const BICYCLE: usize = 1;
const CAR: usize = 2;
const UMBRELLA: usize = 25;
const LABELS: [(usize, &str); 4] = [(PERSON, "person"), (BICYCLE, "bicycle"), (CAR, "car"), (UMBRELLA, "umbrella")];
const W: u32 = 1280;
const H: u32 = 720;
/// 2026-11-25 00:00 UTC: 08:00 at the cameras (+08:00).
const T0_MS: i64 = 1_795_564_800_000;

fn settings() -> RuleSettings {
    RuleSettings {
        sidewalk_parking: SidewalkParkingSettings { enabled: true, dwell_secs: 120.0, classes: vec![CAR] },
        street_vending: StreetVendingSettings {
            enabled: true,
            dwell_secs: 300.0,
            person_class: Some(PERSON),
            stall_classes: vec![UMBRELLA],
            min_persons_without_stall: 3,
            group_radius: 0.1,
        },
        bike_cluster: BikeClusterSettings {
            enabled: true,
            dwell_secs: 180.0,
            min_count: 5,
            cluster_radius: 0.08,
            classes: vec![BICYCLE],
            person_class: Some(PERSON),
            anywhere: false,
        },
        timing: IncidentTiming {
            update_interval_secs: 60.0,
            clear_secs: 30.0,
            realarm_secs: 4.0 * 3600.0,
            escalate_after_secs: 900.0,
        },
        stationary_iou: 0.7,
        appearance: None,
    }
}

fn zone(id: &str, kind: ZoneKind, x1: f64, y1: f64, x2: f64, y2: f64) -> Zone {
    Zone {
        id: Arc::from(id),
        name: None,
        kind,
        polygon: vec![[x1, y1], [x2, y1], [x2, y2], [x1, y2]],
        normalized: false,
        anchor: Anchor::BottomCenter,
        entry_inertia_secs: 2.0,
        exempt: false,
        tolerated: Vec::new(),
        dwell_secs: None,
    }
}

fn det(class_id: usize, x: f32, y: f32, w: f32, h: f32) -> Detection {
    let label = LABELS.iter().find(|(c, _)| *c == class_id).map_or("thing", |(_, l)| l);
    Detection { class_id, label: Arc::from(label), score: 0.8, bbox: BoxXyxy { x1: x, y1: y, x2: x + w, y2: y + h } }
}

fn at(secs: f64) -> Timestamp {
    Timestamp(T0_MS).plus_secs(secs)
}

/// A camera under test: feeds frames at chosen times and keeps every event.
struct Camera {
    analysis: CameraAnalysis,
    events: Vec<(f64, IncidentEvent)>,
}

impl Camera {
    fn new(zones: Vec<Zone>, rules: RuleSettings) -> Self {
        Self {
            analysis: CameraAnalysis::new(Arc::from("cam-1"), zones, 480, rules, TrackerSettings::default()),
            events: Vec::new(),
        }
    }

    /// Frames every `step` seconds in `[from, to)`, each with `scene(t)`'s detections.
    fn run(&mut self, from: f64, to: f64, step: f64, scene: impl Fn(f64) -> Vec<Detection>) {
        let mut t = from;
        while t < to - 1e-9 {
            let events = self.analysis.analyse(&scene(t), None, W, H, at(t));
            self.events.extend(events.into_iter().map(|e| (t, e)));
            t += step;
        }
    }

    fn phases(&self) -> Vec<(f64, Phase)> {
        self.events.iter().map(|(t, e)| (*t, e.phase)).collect()
    }

    fn started(&self) -> Vec<&(f64, IncidentEvent)> {
        self.events.iter().filter(|(_, e)| e.phase == Phase::Started).collect()
    }
}

fn sidewalk() -> Zone {
    zone("sidewalk", ZoneKind::Sidewalk, 0.0, 500.0, 1280.0, 720.0)
}

/// A car parked with its wheels on the sidewalk (bottom edge at y = 600).
fn parked_car() -> Detection {
    det(CAR, 400.0, 480.0, 200.0, 120.0)
}

#[test]
fn sidewalk_parking_starts_exactly_at_the_dwell_time() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    cam.run(0.0, 119.5, 0.5, |_| vec![parked_car()]);
    assert!(cam.events.is_empty(), "nothing before the dwell: {:?}", cam.phases());
    cam.run(119.5, 130.0, 0.5, |_| vec![parked_car()]);
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    let (t, e) = started[0];
    assert_eq!(*t, 120.0, "raised when the car had stood 120 s in the zone");
    assert_eq!(e.rule, RuleKind::SidewalkParking);
    assert_eq!(e.revision, 1);
    assert_eq!(e.cause, Cause::DwellReached);
    assert_eq!(e.zone.as_ref().map(|z| &*z.id), Some("sidewalk"));
    assert_eq!(e.objects.len(), 1);
    assert_eq!(&*e.objects[0].label, "car");
    assert_eq!(e.dwell_secs, 120.0);
}

#[test]
fn sidewalk_parking_survives_a_five_second_detector_drop_out() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    // The detector misses the car from 60 s to 65 s (a bus passing in front).
    cam.run(0.0, 130.0, 0.5, |t| if (60.0..65.0).contains(&t) { vec![] } else { vec![parked_car()] });
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    assert_eq!(started[0].0, 120.0, "the drop-out did not restart the dwell");
}

#[test]
fn sidewalk_parking_ends_after_the_clear_time_and_a_short_stop_raises_nothing() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    cam.run(0.0, 200.0, 1.0, |_| vec![parked_car()]);
    // The car drives off at 200 s. The tracker holds a lost track for 10 s (drop-out
    // tolerance), so the condition last held at 209 s; ENDED 30 s later.
    cam.run(200.0, 300.0, 1.0, |_| vec![]);
    let phases = cam.phases();
    assert_eq!(phases, [(120.0, Phase::Started), (239.0, Phase::Ended)]);
    let ended = &cam.events[1].1;
    assert_eq!(ended.id, cam.events[0].1.id);
    assert_eq!(ended.revision, 2);
    assert_eq!(ended.cause, Cause::Cleared);
    assert_eq!(ended.ended_at, Some(at(209.0)));
    // A delivery van stopping for 90 s raises nothing.
    cam.run(300.0, 390.0, 1.0, |_| vec![parked_car()]);
    cam.run(390.0, 500.0, 1.0, |_| vec![]);
    assert_eq!(cam.events.len(), 2, "{:?}", cam.phases());
}

#[test]
fn a_permanently_parked_car_is_one_incident_for_an_hour() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    // One frame every 2 s for an hour: box jitter of a few pixels, the detector
    // missing the car for 5 s every 10 minutes, and walkers passing in front.
    cam.run(0.0, 3600.0, 2.0, |t| {
        let i = (t / 2.0) as i64;
        if t % 600.0 < 5.0 && t > 100.0 {
            return vec![];
        }
        let jitter = ((i * 7) % 5 - 2) as f32;
        let mut dets = vec![det(CAR, 400.0 + jitter, 480.0 - jitter, 200.0 + jitter, 120.0)];
        let walker_x = ((t * 40.0) % 1400.0) as f32 - 60.0;
        dets.push(det(PERSON, walker_x, 450.0, 40.0, 160.0));
        dets
    });
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    let id = &started[0].1.id;
    assert!(cam.events.iter().all(|(_, e)| &e.id == id), "every event is the same incident");
    assert!(cam.events.iter().all(|(_, e)| e.phase != Phase::Ended), "{:?}", cam.phases());
    // Only the escalations (medium at 15 min, high at 60 min) update it.
    let updates: Vec<Cause> =
        cam.events.iter().filter(|(_, e)| e.phase == Phase::Updated).map(|(_, e)| e.cause).collect();
    assert!(!updates.is_empty() && updates.len() <= 2, "{updates:?}");
    assert!(updates.iter().all(|c| *c == Cause::Escalated), "{updates:?}");
    let revisions: Vec<u64> = cam.events.iter().map(|(_, e)| e.revision).collect();
    assert!(revisions.windows(2).all(|w| w[1] == w[0] + 1), "{revisions:?}");
}

#[test]
fn a_still_standing_violation_is_reminded_not_raised_again() {
    let mut rules = settings();
    rules.timing.realarm_secs = 600.0;
    rules.timing.escalate_after_secs = 100_000.0;
    let mut cam = Camera::new(vec![sidewalk()], rules);
    cam.run(0.0, 1400.0, 2.0, |_| vec![parked_car()]);
    assert_eq!(cam.started().len(), 1);
    let reminders: Vec<f64> = cam.events.iter().filter(|(_, e)| e.cause == Cause::Realarm).map(|(t, _)| *t).collect();
    assert_eq!(reminders, [720.0, 1320.0], "{:?}", cam.phases());
}

#[test]
fn tolerated_hours_and_exemption_zones_are_respected() {
    // Vending is tolerated 18:00-22:00 local in this market street.
    let mut market = zone("market", ZoneKind::NoVending, 0.0, 300.0, 1280.0, 720.0);
    market.tolerated = vec![(18 * 60, 22 * 60)];
    let stall = || vec![det(PERSON, 500.0, 400.0, 50.0, 150.0), det(UMBRELLA, 540.0, 380.0, 120.0, 160.0)];
    let mut cam = Camera::new(vec![market], settings());
    // 18:30 to 22:00 local (10:30 to 14:00 UTC; T0 is 08:00 local).
    let evening = 10.5 * 3600.0;
    let closing = 14.0 * 3600.0;
    cam.run(evening, closing, 5.0, |_| stall());
    assert!(cam.events.is_empty(), "tolerated: {:?}", cam.phases());
    // Still there after 22:00: the stall gets the full dwell to pack up, from 22:00.
    cam.run(closing, closing + 400.0, 5.0, |_| stall());
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    assert_eq!(started[0].0, closing + 300.0);
    assert_eq!(started[0].1.rule, RuleKind::StreetVending);

    // A car parked in the loading bay (an exemption zone inside the sidewalk).
    let mut bay = zone("loading-bay", ZoneKind::Custom, 350.0, 550.0, 650.0, 650.0);
    bay.exempt = true;
    let mut cam = Camera::new(vec![sidewalk(), bay], settings());
    cam.run(0.0, 400.0, 2.0, |_| vec![parked_car()]);
    assert!(cam.events.is_empty(), "exempt: {:?}", cam.phases());
    // The same car a little further along, out of the bay: raised.
    cam.run(400.0, 600.0, 2.0, |_| vec![det(CAR, 800.0, 480.0, 200.0, 120.0)]);
    assert_eq!(cam.started().len(), 1);
}

fn bike(i: usize) -> Detection {
    // Bicycles side by side, 30 px apart.
    det(BICYCLE, 300.0 + 30.0 * i as f32, 560.0, 25.0, 60.0)
}

#[test]
fn a_bike_cluster_changing_size_is_updated_not_raised_again() {
    let corner = zone("corner", ZoneKind::NoBikeParking, 200.0, 500.0, 800.0, 720.0);
    let mut cam = Camera::new(vec![corner], settings());
    cam.run(0.0, 250.0, 2.0, |_| (0..5).map(bike).collect());
    cam.run(250.0, 400.0, 2.0, |_| (0..7).map(bike).collect());
    cam.run(400.0, 600.0, 2.0, |_| (0..6).map(bike).collect());
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    assert_eq!(started[0].0, 180.0);
    assert_eq!(started[0].1.objects.len(), 5);
    let updates: Vec<(f64, usize)> =
        cam.events.iter().filter(|(_, e)| e.phase == Phase::Updated).map(|(t, e)| (*t, e.objects.len())).collect();
    // Two bikes added at 250 s (counted once their anchors are 2 s inside), one
    // taken at 400 s (its track is held 10 s for drop-outs first).
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(updates[0].1, 7);
    assert!((250.0..=256.0).contains(&updates[0].0), "{updates:?}");
    assert_eq!(updates[1].1, 6);
    assert!((400.0..=414.0).contains(&updates[1].0), "{updates:?}");
    assert!(cam.events.iter().all(|(_, e)| e.id == started[0].1.id));
    // Down to 4 bikes: no longer a cluster; ENDED after the clear time.
    cam.run(600.0, 700.0, 2.0, |_| (0..4).map(bike).collect());
    assert_eq!(cam.events.last().map(|(_, e)| e.phase), Some(Phase::Ended), "{:?}", cam.phases());
}

#[test]
fn ridden_bicycles_and_scattered_bicycles_are_no_cluster() {
    let corner = zone("corner", ZoneKind::NoBikeParking, 0.0, 300.0, 1280.0, 720.0);
    let mut cam = Camera::new(vec![corner], settings());
    cam.run(0.0, 400.0, 2.0, |_| {
        // Five bikes in a row, two of them with a person on them: three parked.
        let mut d: Vec<Detection> = (0..5).map(bike).collect();
        d.push(det(PERSON, 298.0, 500.0, 30.0, 110.0));
        d.push(det(PERSON, 388.0, 500.0, 30.0, 110.0));
        // Five more spread over the frame, far apart.
        d.extend((0..5).map(|i| det(BICYCLE, 50.0 + 250.0 * i as f32, 360.0, 25.0, 60.0)));
        d
    });
    assert!(cam.events.is_empty(), "{:?}", cam.phases());
}

#[test]
fn street_vending_needs_still_people_with_a_stall_or_a_crowd() {
    let lane = zone("lane", ZoneKind::NoVending, 0.0, 300.0, 1280.0, 720.0);
    let mut cam = Camera::new(vec![lane.clone()], settings());
    cam.run(0.0, 320.0, 2.0, |_| {
        vec![det(PERSON, 500.0, 400.0, 50.0, 150.0), det(UMBRELLA, 540.0, 380.0, 120.0, 160.0)]
    });
    assert_eq!(cam.started().iter().map(|(t, _)| *t).collect::<Vec<_>>(), [300.0]);

    // People walking through the lane, and two people chatting: no vending.
    let mut cam = Camera::new(vec![lane], settings());
    cam.run(0.0, 600.0, 2.0, |t| {
        let mut d: Vec<Detection> = (0..4)
            .map(|i| det(PERSON, ((t * 50.0 + 300.0 * i as f64) % 1300.0) as f32, 420.0 + 40.0 * i as f32, 40.0, 150.0))
            .collect();
        d.push(det(PERSON, 900.0, 400.0, 50.0, 150.0));
        d.push(det(PERSON, 960.0, 400.0, 50.0, 150.0));
        d
    });
    assert!(cam.events.is_empty(), "{:?}", cam.phases());
}

#[test]
fn pedestrians_and_a_passing_car_crossing_a_sidewalk_raise_nothing() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    cam.run(0.0, 900.0, 1.0, |t| {
        let x = ((t * 30.0) % 1400.0) as f32 - 60.0;
        vec![det(PERSON, x, 450.0, 40.0, 160.0), det(CAR, 1280.0 - x, 520.0, 200.0, 120.0)]
    });
    assert!(cam.events.is_empty(), "{:?}", cam.phases());
}

/// A 1280x720 frame: a textured car where `parked_car()` stands (or the empty road),
/// under a light level (1.0 day, 0.3 dusk).
fn frame(light: f32, car_there: bool) -> Vec<u8> {
    let mut px = vec![0u8; (W * H * 3) as usize];
    for y in 0..H as usize {
        for x in 0..W as usize {
            let road = 90.0 + ((x / 40 + y / 40) % 2) as f32 * 20.0;
            let in_car = car_there && (400..600).contains(&x) && (480..600).contains(&y);
            let v = if in_car { 40.0 + ((x * 13 % 29) + (y * 7 % 31)) as f32 * 3.5 } else { road };
            px[(y * W as usize + x) * 3..][..3].fill((v * light).clamp(0.0, 255.0) as u8);
        }
    }
    px
}

fn with_pixels(cam: &mut Camera, from: f64, to: f64, step: f64, light: f32, car_there: bool, detected: bool) {
    let pixels = frame(light, car_there);
    let image = detector::image::ImageRef::bgr(W, H, (W * 3) as usize, &pixels).unwrap();
    let mut t = from;
    while t < to - 1e-9 {
        let dets = if detected { vec![parked_car()] } else { vec![] };
        let events = cam.analysis.analyse(&dets, Some(image), W, H, at(t));
        cam.events.extend(events.into_iter().map(|e| (t, e)));
        t += step;
    }
}

#[test]
fn the_appearance_check_keeps_a_parked_car_parked_through_dusk() {
    for check in [false, true] {
        let mut rules = settings();
        rules.appearance = check.then(detector::rules::AppearanceCheck::default);
        let mut cam = Camera::new(vec![sidewalk()], rules);
        with_pixels(&mut cam, 0.0, 200.0, 2.0, 1.0, true, true);
        // Dusk: the light drops and the detector no longer sees the car for a minute.
        with_pixels(&mut cam, 200.0, 260.0, 2.0, 0.3, true, false);
        with_pixels(&mut cam, 260.0, 300.0, 2.0, 0.3, true, true);
        let phases = cam.phases();
        if check {
            assert_eq!(phases, [(120.0, Phase::Started)], "kept parked by its looks");
        } else {
            // Boxes alone: the track is lost, the incident ends, and a second one
            // would follow 120 s after the car is seen again.
            assert!(
                phases.contains(&(120.0, Phase::Started)) && phases.iter().any(|p| p.1 == Phase::Ended),
                "{phases:?}"
            );
        }
        if check {
            // The car really leaves: the road's pixels do not look like it.
            with_pixels(&mut cam, 300.0, 400.0, 2.0, 0.3, false, false);
            assert_eq!(cam.events.last().map(|(_, e)| e.phase), Some(Phase::Ended), "{:?}", cam.phases());
        }
    }
}

/// Frames at the times ingest's change gate would analyse them: every second while
/// the analysis saw something move (or the footage is busy), else at the time it asked
/// for (a dwell or a clearance due), at the latest every `floor` seconds.
fn run_gated(
    cam: &mut Camera,
    from: f64,
    to: f64,
    floor: f64,
    busy: impl Fn(f64) -> bool,
    scene: impl Fn(f64) -> Vec<Detection>,
) -> Vec<f64> {
    let mut analysed = Vec::new();
    let mut t = from;
    while t < to - 1e-9 {
        let events = cam.analysis.analyse(&scene(t), None, W, H, at(t));
        cam.events.extend(events.into_iter().map(|e| (t, e)));
        analysed.push(t);
        let hint = cam.analysis.hint();
        // Keyframes every second: the next one at or after the time asked for.
        let due = hint.due.map(|d| ((d.0 - T0_MS) as f64 / 1000.0).ceil());
        let mut next = t + 1.0;
        while !(hint.moving || busy(next) || due.is_some_and(|d| next >= d) || next - t >= floor) && next < to {
            next += 1.0;
        }
        t = next;
    }
    analysed
}

#[test]
fn a_still_scene_analysed_rarely_still_measures_the_dwell_exactly() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    // The car drives in along the kerb for 5 s (the footage changes: analysed every
    // second) and stops at x = 400 at 5 s; then the scene is still.
    let car_at = |t: f64| {
        if t < 5.0 {
            vec![det(CAR, 400.0 - 60.0 * (5.0 - t) as f32, 480.0, 200.0, 120.0)]
        } else {
            vec![parked_car()]
        }
    };
    let analysed = run_gated(&mut cam, 0.0, 200.0, 8.0, |t| t < 5.0, car_at);
    let started = cam.started();
    assert_eq!(started.len(), 1, "{:?}", cam.phases());
    // It stood still from 5 s; the analysis asked for 125 s: raised then, not at the
    // next floor frame.
    assert_eq!(started[0].0, 125.0, "analysed at {analysed:?}");
    assert_eq!(started[0].1.dwell_secs, 120.0);
    assert!(analysed.len() <= 32, "a still scene is analysed rarely (200 frames at 1 fps): {analysed:?}");
    assert!(analysed.windows(2).all(|w| w[1] - w[0] <= 8.0), "never more than the floor apart: {analysed:?}");
}

#[test]
fn gaps_of_a_still_scene_and_one_miss_after_them_end_nothing() {
    let mut cam = Camera::new(vec![sidewalk()], settings());
    // Frames 8 s apart; the detector misses the car in one of them (16 s after it was
    // last seen, longer than the tracker's 10 s drop-out tolerance).
    let scene = |t: f64| if (150.0..158.0).contains(&t) { vec![] } else { vec![parked_car()] };
    let analysed = run_gated(&mut cam, 0.0, 400.0, 8.0, |t| t < 1.0, scene);
    assert_eq!(analysed.iter().filter(|t| (150.0..158.0).contains(*t)).count(), 1, "{analysed:?}");
    assert_eq!(cam.started().len(), 1, "{:?}", cam.phases());
    assert!(cam.events.iter().all(|(_, e)| e.phase != Phase::Ended), "{:?}", cam.phases());
    // The car leaves at 400 s (the departure is change: analysed every second for a
    // few seconds), then the empty scene is still: ENDED once the clear time has
    // passed, at the time the analysis asked for.
    run_gated(&mut cam, 400.0, 600.0, 8.0, |t| t < 403.0, |_| vec![]);
    let phases = cam.phases();
    assert_eq!(phases.len(), 2, "{phases:?}");
    assert_eq!(phases[1].1, Phase::Ended);
    let ended_at = cam.events[1].1.ended_at.expect("ended at");
    assert!(phases[1].0 - ((ended_at.0 - T0_MS) as f64 / 1000.0) <= 31.0, "{phases:?} {ended_at:?}");
}

#[test]
fn a_vehicle_boxed_twice_is_one_incident() {
    const TRUCK: usize = 7;
    let mut rules = settings();
    rules.sidewalk_parking.classes = vec![CAR, TRUCK];
    let mut cam = Camera::new(vec![sidewalk()], rules);
    // The detector sees the van as a car and, from 60 s on, also as a truck (the
    // boxes overlap; class-aware suppression keeps both).
    cam.run(0.0, 400.0, 1.0, |t| {
        let mut d = vec![parked_car()];
        if t >= 60.0 {
            d.push(det(TRUCK, 404.0, 478.0, 198.0, 124.0));
        }
        d
    });
    assert_eq!(cam.started().len(), 1, "{:?}", cam.phases());
}
