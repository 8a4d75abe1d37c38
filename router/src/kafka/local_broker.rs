//! A Kafka-protocol broker on loopback for tools and tests (tansu, from the setup
//! cache): in-memory storage, so a restart starts empty. Production never uses it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LocalBrokerError {
    #[error("cannot start the broker {path} (run deploy/setup.sh)")]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("the broker did not open port {port} within 10 s")]
    NoPort { port: u16 },
}

pub struct LocalBroker {
    pub port: u16,
    child: Option<Child>,
}

impl LocalBroker {
    /// Starts `tansu` on 127.0.0.1:`port` and waits (up to 10 s) for its port.
    pub fn start(tansu: &Path, port: u16) -> Result<Self, LocalBrokerError> {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LocalBrokerError::Spawn { path: tansu.to_path_buf(), source })?;
        let broker = Self { port, child: Some(child) };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err(LocalBrokerError::NoPort { port });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's process id, while it runs (tests freeze it with SIGSTOP).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops it at once (SIGKILL): what it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
    }
}
