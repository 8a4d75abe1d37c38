//! Test cameras: an RTSP server on 127.0.0.1 serving N cameras from pre-encoded H.264
//! files (looped, never re-encoded) or synthetic patterns, with faults on demand:
//! stall a mount (stop sending without closing), require a password, and kill or
//! restart the whole server on the same port. Tests, benchmarks and
//! `streetwatch-bench test-cameras` use it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

use crate::error::MediaError;
use crate::pipeline_parts::{launch, named};

/// What a test camera shows.
#[derive(Debug, Clone)]
pub enum TestSource {
    /// A pre-encoded H.264 byte-stream file, looped at `fps`, sent as it is (split
    /// into access units once, then timestamped and payloaded; never re-encoded).
    H264File { path: PathBuf, fps: u32 },
    /// A synthetic pattern (`videotestsrc` names: smpte, ball, snow...) encoded live.
    Pattern { pattern: String, width: u32, height: u32, fps: u32, keyframe_interval: u32 },
}

#[derive(Debug, Clone)]
pub struct MountSpec {
    /// `/cam1`
    pub path: String,
    pub source: TestSource,
    /// Basic-auth user and password this mount requires.
    pub credentials: Option<(String, String)>,
}

impl MountSpec {
    pub fn pattern(path: &str) -> Self {
        Self {
            path: path.into(),
            source: TestSource::Pattern {
                pattern: "ball".into(),
                width: 320,
                height: 240,
                fps: 10,
                keyframe_interval: 10,
            },
            credentials: None,
        }
    }

    pub fn file(path: &str, file: impl Into<PathBuf>, fps: u32) -> Self {
        Self { path: path.into(), source: TestSource::H264File { path: file.into(), fps }, credentials: None }
    }

    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    fn launch(&self) -> String {
        let tail = "valve name=valve drop=false ! rtph264pay name=pay0 pt=96 config-interval=1";
        match &self.source {
            // Fed by `FileFeeder`, which timestamps each access unit (a looped file read
            // by multifilesrc carries no timestamps, and receivers need them).
            TestSource::H264File { fps, .. } => format!(
                "( appsrc name=feed is-live=true format=time caps=\"video/x-h264,stream-format=byte-stream,alignment=au,framerate={fps}/1\" ! h264parse ! {tail} )"
            ),
            TestSource::Pattern { pattern, width, height, fps, keyframe_interval } => format!(
                "( videotestsrc is-live=true pattern={pattern} ! video/x-raw,width={width},height={height},framerate={fps}/1 \
                 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyframe_interval} bframes=0 ! h264parse ! {tail} )"
            ),
        }
    }
}

/// A file split into access units once, shared by every mount that serves it.
struct AccessUnits {
    units: Vec<gst::Buffer>,
}

impl AccessUnits {
    /// Splits an H.264 byte-stream file with GStreamer's own parser.
    fn load(path: &std::path::Path) -> Result<Arc<Self>, MediaError> {
        const WHAT: &str = "test camera's file reader";
        let pipeline = launch(
            WHAT,
            &format!(
                "filesrc location=\"{}\" ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=out sync=false",
                path.display()
            ),
        )?;
        let sink: gstreamer_app::AppSink = named(&pipeline, WHAT, "out")?;
        pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;
        let mut units = Vec::new();
        while let Ok(sample) = sink.pull_sample() {
            if let Some(b) = sample.buffer_owned() {
                units.push(b);
            }
        }
        let _ = pipeline.set_state(gst::State::Null);
        if units.is_empty() {
            return Err(MediaError::Invalid(format!("{}: no H.264 access units", path.display())));
        }
        Ok(Arc::new(Self { units }))
    }
}

/// Pushes a file's access units into a media's appsrc, looping, with timestamps.
fn attach_feeder(appsrc: gstreamer_app::AppSrc, units: Arc<AccessUnits>, fps: u32) {
    let frame = gst::ClockTime::from_nseconds(1_000_000_000 / u64::from(fps.max(1)));
    let mut index = 0u64;
    appsrc.set_callbacks(
        gstreamer_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| {
                let au = &units.units[(index % units.units.len() as u64) as usize];
                // A shallow copy: the encoded bytes are shared, never copied or re-encoded.
                let mut buffer = au.copy();
                {
                    let b = buffer.make_mut();
                    b.set_pts(frame * index);
                    b.set_dts(frame * index);
                    b.set_duration(frame);
                }
                index += 1;
                let _ = src.push_buffer(buffer);
            })
            .build(),
    );
}

/// Valves of the live media of each mount, and whether the mount is stalled.
#[derive(Default)]
struct Faults {
    valves: HashMap<String, Vec<glib::WeakRef<gst::Element>>>,
    stalled: HashMap<String, bool>,
}

struct Running {
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    server: rtsp::RTSPServer,
    thread: Option<JoinHandle<()>>,
}

pub struct TestCameraServer {
    port: u16,
    mounts: Vec<MountSpec>,
    faults: Arc<Mutex<Faults>>,
    running: Option<Running>,
}

impl TestCameraServer {
    /// Starts serving `mounts` on 127.0.0.1:`port` (0: any free port).
    pub fn start(port: u16, mounts: Vec<MountSpec>) -> Result<Self, MediaError> {
        crate::init()?;
        let mut s = Self { port, mounts, faults: Arc::default(), running: None };
        s.launch()?;
        Ok(s)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtsp://127.0.0.1:PORT/path` (no credentials).
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, path)
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    fn launch(&mut self) -> Result<(), MediaError> {
        const WHAT: &str = "RTSP test server";
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&self.port.to_string());
        let mounts = server.mount_points().ok_or(MediaError::Missing { what: WHAT, part: "mount points" })?;
        let protected = self.mounts.iter().any(|m| m.credentials.is_some());
        if protected {
            let auth = rtsp::RTSPAuth::new();
            // Clients without credentials get the "anonymous" role.
            let mut anonymous = rtsp::RTSPToken::builder().field("media.factory.role", "anonymous").build();
            auth.set_default_token(Some(&mut anonymous));
            for m in &self.mounts {
                if let Some((user, pass)) = &m.credentials {
                    let token =
                        rtsp::RTSPToken::builder().field("media.factory.role", format!("user{}", m.path)).build();
                    auth.add_basic(&rtsp::RTSPAuth::make_basic(user, pass), &token);
                }
            }
            server.set_auth(Some(&auth));
        }
        let mut loaded: HashMap<PathBuf, Arc<AccessUnits>> = HashMap::new();
        for m in &self.mounts {
            if let TestSource::H264File { path, .. } = &m.source {
                if !loaded.contains_key(path) {
                    loaded.insert(path.clone(), AccessUnits::load(path)?);
                }
            }
        }
        for m in &self.mounts {
            let factory = rtsp::RTSPMediaFactory::new();
            factory.set_launch(&m.launch());
            factory.set_shared(true);
            if protected {
                // A protected mount must still grant anonymous *access* (so the client
                // gets 401 and retries with credentials, rather than 404), but only its
                // user may *construct* the media.
                let anon_construct = m.credentials.is_none();
                factory.add_role_from_structure(
                    &gst::Structure::builder("anonymous")
                        .field("media.factory.access", true)
                        .field("media.factory.construct", anon_construct)
                        .build(),
                );
                factory.add_role_from_structure(
                    &gst::Structure::builder(format!("user{}", m.path))
                        .field("media.factory.access", true)
                        .field("media.factory.construct", true)
                        .build(),
                );
            }
            let faults = Arc::clone(&self.faults);
            let path = m.path.clone();
            let feed = match &m.source {
                TestSource::H264File { path, fps } => loaded.get(path).map(|u| (Arc::clone(u), *fps)),
                TestSource::Pattern { .. } => None,
            };
            factory.connect_media_configure(move |_, media| {
                let element = media.element();
                let Some(bin) = element.downcast_ref::<gst::Bin>() else { return };
                if let Some((units, fps)) = &feed {
                    if let Some(src) = bin.by_name("feed").and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok()) {
                        attach_feeder(src, Arc::clone(units), *fps);
                    }
                }
                let Some(valve) = bin.by_name("valve") else { return };
                let mut f = faults.lock().unwrap_or_else(|p| p.into_inner());
                valve.set_property("drop", f.stalled.get(&path).copied().unwrap_or(false));
                f.valves.entry(path.clone()).or_default().push(valve.downgrade());
            });
            mounts.add_factory(&m.path, factory);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let (ctx, ml, srv) = (context.clone(), main_loop.clone(), server.clone());
        let thread = std::thread::Builder::new()
            .name("test-cameras".into())
            .spawn(move || {
                let attached = ctx.with_thread_default(|| srv.attach(Some(&ctx)));
                let source = match attached {
                    Ok(Ok(id)) => {
                        let _ = tx.send(Ok(srv.bound_port()));
                        id
                    }
                    Ok(Err(source)) => {
                        return drop(tx.send(Err(MediaError::Assemble { what: "RTSP test server's socket", source })))
                    }
                    Err(source) => {
                        return drop(
                            tx.send(Err(MediaError::Assemble { what: "RTSP test server's main context", source })),
                        )
                    }
                };
                let _ = ctx.with_thread_default(|| ml.run());
                // The source lives in our own context (not the default one): destroying
                // it closes the listening socket.
                if let Some(src) = ctx.find_source_by_id(&source) {
                    src.destroy();
                }
            })
            .map_err(|source| MediaError::Thread { what: WHAT, source })?;
        let port = rx
            .recv()
            .map_err(|_| MediaError::Missing { what: WHAT, part: "listening socket (its thread ended)" })??;
        self.port = u16::try_from(port).map_err(|_| MediaError::Invalid(format!("bad bound port {port}")))?;
        self.running = Some(Running { context, main_loop, server, thread: Some(thread) });
        Ok(())
    }

    /// Kills the server: every client connection is closed and the port stops listening.
    pub fn stop(&mut self) {
        let Some(mut r) = self.running.take() else { return };
        let (server, main_loop) = (r.server.clone(), r.main_loop.clone());
        r.context.invoke(move || {
            server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
            main_loop.quit();
        });
        if let Some(t) = r.thread.take() {
            let _ = t.join();
        }
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.valves.clear();
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) -> Result<(), MediaError> {
        self.stop();
        self.launch()
    }

    /// Stops (or resumes) sending video on a mount without closing connections.
    pub fn stall(&self, path: &str, stalled: bool) {
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.stalled.insert(path.to_string(), stalled);
        if let Some(valves) = f.valves.get_mut(path) {
            valves.retain(|w| match w.upgrade() {
                Some(v) => {
                    v.set_property("drop", stalled);
                    true
                }
                None => false,
            });
        }
    }
}

impl Drop for TestCameraServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A file that deploy/setup.sh put in the cache's `footage/` folder
/// (`$STREETWATCH_CACHE`, else `~/.cache/streetwatch`). Panics, naming the file and
/// the fix, when it is missing: for tests and benchmarks only.
pub fn cached_footage(name: &str) -> PathBuf {
    let cache = std::env::var("STREETWATCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/streetwatch"));
    let p = cache.join("footage").join(name);
    assert!(p.is_file(), "{} missing: run deploy/setup.sh", p.display());
    p
}
