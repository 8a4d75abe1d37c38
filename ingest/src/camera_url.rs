//! Camera URLs that cannot leak their credentials.
//!
//! A `CameraUrl` keeps the user name and password apart from the address; its
//! `Display` and `Debug` never show the password, so any log line or error that
//! formats a camera URL is safe by construction. Only `with_credentials_for_source`
//! puts them back, for handing to the RTSP client.

use std::fmt;

use thiserror::Error;
use url::Url;

/// What kind of source a camera URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `rtsp://` or `rtsps://`: a live network camera.
    Rtsp,
    /// `file:///abs/path`: a recording (mp4, mkv, raw H.264).
    File,
    /// `test://pattern`: a synthetic pattern generated locally.
    Test,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CameraUrlError {
    #[error("not a valid URL: {reason}")]
    Invalid { reason: String },
    #[error("unsupported scheme `{scheme}` (expected rtsp, rtsps, file or test)")]
    UnsupportedScheme { scheme: String },
    #[error("file URLs need an absolute path (file:///path/to/video.mp4)")]
    RelativeFile,
    #[error("rtsp URL has no host")]
    MissingHost,
}

/// User name and password for a camera. The password is never formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: password.into() }
    }

    /// The secret itself: call only where it is handed to the camera.
    pub fn expose_password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &"***").field("password", &"***").finish()
    }
}

/// A camera address with its credentials held apart.
#[derive(Clone, PartialEq, Eq)]
pub struct CameraUrl {
    /// The URL with user info stripped.
    address: Url,
    kind: SourceKind,
    credentials: Option<Credentials>,
}

impl CameraUrl {
    /// Parses a URL; user info written into it (`rtsp://user:pass@host/...`) is moved
    /// into the credentials. Error messages never repeat the input, which may hold a
    /// password.
    pub fn parse(input: &str) -> Result<Self, CameraUrlError> {
        let mut address = Url::parse(input).map_err(|e| CameraUrlError::Invalid { reason: e.to_string() })?;
        let kind = match address.scheme() {
            "rtsp" | "rtsps" => SourceKind::Rtsp,
            "file" => SourceKind::File,
            "test" => SourceKind::Test,
            other => return Err(CameraUrlError::UnsupportedScheme { scheme: other.to_string() }),
        };
        if kind == SourceKind::File && address.host_str().is_some_and(|h| !h.is_empty()) {
            return Err(CameraUrlError::RelativeFile);
        }
        if kind == SourceKind::Rtsp && address.host_str().is_none_or(str::is_empty) {
            return Err(CameraUrlError::MissingHost);
        }
        let credentials = if !address.username().is_empty() || address.password().is_some() {
            let user = percent_decode(address.username());
            let pass = address.password().map(percent_decode).unwrap_or_default();
            // Infallible for URLs with a host, which is all that can carry user info.
            let _ = address.set_username("");
            let _ = address.set_password(None);
            Some(Credentials::new(user, pass))
        } else {
            None
        };
        Ok(Self { address, kind, credentials })
    }

    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Replaces the credentials (those from environment variables win over any in the URL).
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
    }

    /// The address without any user info: safe to log.
    pub fn address(&self) -> &Url {
        &self.address
    }

    /// For file URLs, the local path.
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        (self.kind == SourceKind::File).then(|| self.address.to_file_path().ok()).flatten()
    }

    /// The full URL with credentials, for the source element only. Never log this.
    pub fn with_credentials_for_source(&self) -> String {
        let mut u = self.address.clone();
        if let Some(c) = &self.credentials {
            let _ = u.set_username(&c.username);
            let _ = u.set_password(Some(c.expose_password()));
        }
        u.to_string()
    }
}

impl fmt::Display for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = if self.credentials.is_some() {
            // Show that credentials exist, never what they are.
            let mut u = self.address.clone();
            // Same form as `redact_credentials`, so every log shows one redacted form.
            let _ = u.set_username("***");
            u.to_string()
        } else {
            self.address.to_string()
        };
        // A URL inside the path or query (a proxy's `?src=rtsp://user:pass@...`, found
        // by `streetwatch-bench fuzz camera-url`) keeps its credentials out of logs too.
        f.write_str(&redact_credentials(&shown))
    }
}

impl fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CameraUrl({self})")
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Scrubs `scheme://user:password@` user info from arbitrary text, such as an error
/// message from a library that echoes the URL it was given.
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // User info ends at '@' before the authority ends (at '/', whitespace, quote...).
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == ')')
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_a_url_inside_the_path_are_not_displayed_either() {
        let u = CameraUrl::parse("rtsp://10.0.0.5/proxy?src=rtsp://admin:hunter22@10.0.0.9/live").unwrap();
        assert!(!u.to_string().contains("hunter22") && !format!("{u:?}").contains("hunter22"), "{u}");
        assert!(u.to_string().starts_with("rtsp://10.0.0.5/proxy"), "{u}");
    }

    #[test]
    fn inline_credentials_are_moved_out_and_never_displayed() {
        let u = CameraUrl::parse("rtsp://admin:s3cr%40t@10.0.0.5:554/stream1").unwrap();
        assert_eq!(u.kind(), SourceKind::Rtsp);
        let c = u.credentials().unwrap();
        assert_eq!(c.username, "admin");
        assert_eq!(c.expose_password(), "s3cr@t");
        for shown in [u.to_string(), format!("{u:?}"), format!("{c:?}")] {
            assert!(!shown.contains("s3cr"), "password leaked in {shown}");
            assert!(!shown.contains("admin"), "user leaked in {shown}");
        }
        assert_eq!(u.to_string(), "rtsp://***@10.0.0.5:554/stream1");
        assert_eq!(u.address().as_str(), "rtsp://10.0.0.5:554/stream1");
        assert_eq!(u.with_credentials_for_source(), "rtsp://admin:s3cr%40t@10.0.0.5:554/stream1");
    }

    #[test]
    fn url_without_credentials_displays_unchanged() {
        let u = CameraUrl::parse("rtsp://cam.local/live").unwrap();
        assert!(u.credentials().is_none());
        assert_eq!(u.to_string(), "rtsp://cam.local/live");
    }

    #[test]
    fn credentials_set_later_are_redacted_too() {
        let mut u = CameraUrl::parse("rtsp://cam.local/live").unwrap();
        u.set_credentials(Credentials::new("op", "hunter2"));
        assert!(!u.to_string().contains("hunter2"));
        assert!(u.with_credentials_for_source().contains("op:hunter2@"));
    }

    #[test]
    fn scheme_and_shape_errors() {
        assert_eq!(
            CameraUrl::parse("http://x/y").unwrap_err(),
            CameraUrlError::UnsupportedScheme { scheme: "http".into() }
        );
        assert_eq!(CameraUrl::parse("file://relative/x.mp4").unwrap_err(), CameraUrlError::RelativeFile);
        assert!(matches!(CameraUrl::parse("not a url").unwrap_err(), CameraUrlError::Invalid { .. }));
        let f = CameraUrl::parse("file:///data/v.mp4").unwrap();
        assert_eq!(f.file_path().unwrap(), std::path::PathBuf::from("/data/v.mp4"));
        assert_eq!(CameraUrl::parse("test://smpte").unwrap().kind(), SourceKind::Test);
    }

    #[test]
    fn error_messages_do_not_echo_the_input() {
        let e = CameraUrl::parse("ftp://user:topsecret@host/").unwrap_err();
        assert!(!e.to_string().contains("topsecret"));
    }

    #[test]
    fn redact_credentials_in_free_text() {
        let text = "could not open resource rtsp://admin:pw@10.1.2.3/ch1 (and rtsp://10.1.2.4/ch2)";
        assert_eq!(
            redact_credentials(text),
            "could not open resource rtsp://***@10.1.2.3/ch1 (and rtsp://10.1.2.4/ch2)"
        );
        assert_eq!(redact_credentials("no url here"), "no url here");
        assert_eq!(redact_credentials("rtsp://u:p@h"), "rtsp://***@h");
        // An '@' in a path is not user info.
        assert_eq!(redact_credentials("rtsp://h/a@b"), "rtsp://h/a@b");
    }

    proptest::proptest! {
        #[test]
        fn no_password_survives_formatting(pass in "[a-zA-Z0-9]{6,20}") {
            let raw = format!("rtsp://user:{pass}@192.168.1.10/stream");
            let u = CameraUrl::parse(&raw).unwrap();
            proptest::prop_assert!(!u.to_string().contains(&pass));
            let debug = format!("{:?}", u);
            proptest::prop_assert!(!debug.contains(&pass));
            proptest::prop_assert!(!redact_credentials(&raw).contains(&pass));
        }
    }
}
