//! Test cameras: an RTSP server on 127.0.0.1 serving N cameras from pre-encoded H.264
//! files (looped, never re-encoded) or synthetic patterns, with faults on demand:
//! stall a mount (stop sending without closing), require a password, and kill or
//! restart the whole server on the same port. Tests, benchmarks and
//! `streetwatch test-cameras` use it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

/// What a test camera shows.
#[derive(Debug, Clone)]
pub enum TestSource {
    /// A pre-encoded H.264 byte-stream file, looped at `fps`, sent as it is.
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
            TestSource::H264File { path, fps } => format!(
                "( multifilesrc location=\"{}\" loop=true caps=\"video/x-h264,stream-format=byte-stream,alignment=au,framerate={fps}/1\" ! h264parse ! {tail} )",
                path.display()
            ),
            TestSource::Pattern { pattern, width, height, fps, keyframe_interval } => format!(
                "( videotestsrc is-live=true pattern={pattern} ! video/x-raw,width={width},height={height},framerate={fps}/1 \
                 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyframe_interval} bframes=0 ! h264parse ! {tail} )"
            ),
        }
    }
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
    pub fn start(port: u16, mounts: Vec<MountSpec>) -> Result<Self, String> {
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

    fn launch(&mut self) -> Result<(), String> {
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&self.port.to_string());
        let mounts = server.mount_points().ok_or("RTSP server has no mount points")?;
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
            factory.connect_media_configure(move |_, media| {
                let element = media.element();
                let Some(bin) = element.downcast_ref::<gst::Bin>() else { return };
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
                    Ok(Err(e)) => return drop(tx.send(Err(format!("cannot listen: {e}")))),
                    Err(e) => return drop(tx.send(Err(format!("cannot use the main context: {e}")))),
                };
                let _ = ctx.with_thread_default(|| ml.run());
                // The source lives in our own context (not the default one): destroying
                // it closes the listening socket.
                if let Some(src) = ctx.find_source_by_id(&source) {
                    src.destroy();
                }
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        let port = rx.recv().map_err(|_| "server thread ended before listening".to_string())??;
        self.port = u16::try_from(port).map_err(|_| format!("bad bound port {port}"))?;
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
    pub fn restart(&mut self) -> Result<(), String> {
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
