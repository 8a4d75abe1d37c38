//! `tracing` output, human-readable by default or JSON lines.
//!
//! Every line passes through `redact_credentials` before it reaches stderr: camera
//! URLs are redacted where they are formatted already, and this is the safety net for
//! text we do not control (a library error that echoes the URL it was given).

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::schema::LogFormat;

/// Installs the global subscriber. `level` is an `EnvFilter` directive; `RUST_LOG` wins when set.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colour only for a person at a terminal, never in files or journald.
    let ansi = io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactingStderr).with_ansi(ansi);
    // A second init (tests calling main twice) is harmless; ignore it.
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}

/// Makes one writer per log event; the event is written, redacted, when it is dropped.
#[derive(Clone, Copy)]
pub struct RedactingStderr;

pub struct LineBuffer(Vec<u8>);

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        LineBuffer(Vec::with_capacity(256))
    }
}

impl Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let clean = ingest::redact_credentials(&text);
        // Nothing sensible to do if stderr is gone.
        let _ = io::stderr().lock().write_all(clean.as_bytes());
    }
}
