//! Helpers for tests that run the real `streetwatch` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streetwatch"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Polls `cond` until it returns Some or the deadline passes.
pub fn wait_for<T>(what: &str, deadline: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running process whose stderr is collected in the background.
pub struct Running {
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn streetwatch");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([&format!("-{sig}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    /// Waits for exit within the deadline and returns the exit code.
    pub fn wait_exit(&mut self, deadline: Duration) -> i32 {
        let status = wait_for("process exit", deadline, || self.child.try_wait().unwrap());
        status.code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET: (status code, body). None if the connection fails.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The address the `run` command logged for its HTTP endpoint.
pub fn logged_http_address(stderr: &str) -> Option<String> {
    let start = stderr.find("health endpoint: http://")? + "health endpoint: http://".len();
    let rest = &stderr[start..];
    Some(rest[..rest.find('/')?].to_string())
}

/// A tansu broker on a free loopback port, and a connection to it.
pub fn start_broker() -> (router::kafka::local_broker::LocalBroker, router::KafkaConnection) {
    let tansu = std::env::var("STREETWATCH_TANSU").expect("STREETWATCH_TANSU (source the setup's env.sh)");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = router::kafka::local_broker::LocalBroker::start(std::path::Path::new(&tansu), port).unwrap();
    let conn = router::KafkaConnection::new(broker.bootstrap());
    (broker, conn)
}

/// A real S3-protocol server for tests: moto's, from the setup venv (no S3 service
/// is reachable from here; moto implements the S3 REST API locally).
#[cfg(feature = "s3")]
pub mod s3 {
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use streetwatch::config::S3Settings;
    use streetwatch::wiring::evidence_s3::S3Store;

    pub struct Server(Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    pub fn server(port: u16) -> Server {
        let cache = std::env::var("STREETWATCH_CACHE")
            .unwrap_or_else(|_| format!("{}/.cache/streetwatch", std::env::var("HOME").unwrap_or_default()));
        let exe = format!("{cache}/venv/bin/moto_server");
        assert!(std::path::Path::new(&exe).is_file(), "{exe} not found: run deploy/setup.sh");
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        super::wait_for("the S3 server", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Server(child)
    }

    /// A server with bucket `evidence`, and a store on it with prefix `city/`
    /// (credentials test-access / test-secret); the server's port.
    pub fn bucket() -> (Server, S3Store, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = server(port);
        let settings = S3Settings {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "evidence".into(),
            region: "us-east-1".into(),
            prefix: "city/".into(),
            path_style: true,
            access_key: "test-access".into(),
            secret_key: "test-secret".into(),
        };
        let store = S3Store::new(&settings).unwrap();
        super::wait_for("the bucket", Duration::from_secs(20), || store.create_bucket().ok());
        (server, store, port)
    }

    /// The `[storage.s3]` table for that bucket (credentials from TEST_S3_ACCESS and
    /// TEST_S3_SECRET).
    pub fn config_table(port: u16) -> String {
        format!(
            "[storage.s3]\nendpoint = \"http://127.0.0.1:{port}\"\nbucket = \"evidence\"\nprefix = \"city/\"\n\
             access_key_env = \"TEST_S3_ACCESS\"\nsecret_key_env = \"TEST_S3_SECRET\"\n"
        )
    }
}
