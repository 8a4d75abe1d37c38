//! For disk-full tests of the outbox here and of the whole pipeline in the binary's
//! tests: a small tmpfs, and a filler that takes what space is left. Production
//! never uses it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a small disk could not be mounted.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("{path}: cannot make the mount point")]
    MountPoint { path: PathBuf, source: std::io::Error },
    #[error("cannot run mount")]
    Run(#[source] std::io::Error),
    #[error("mount refused: {0}")]
    Refused(String),
}

/// A tmpfs of `size` (`mount -o size=`), unmounted when dropped.
pub struct SmallDisk {
    pub path: PathBuf,
}

impl SmallDisk {
    /// Mounts it on `<parent>/disk` (made here), or says why not (mounting needs root
    /// or CAP_SYS_ADMIN): the caller skips, saying so.
    pub fn mount(parent: &Path, size: &str) -> Result<Self, MountError> {
        let path = parent.join("disk");
        std::fs::create_dir_all(&path).map_err(|source| MountError::MountPoint { path: path.clone(), source })?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(MountError::Run)?;
        if !out.status.success() {
            return Err(MountError::Refused(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(Self { path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: a process under test may still hold a file there.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the file system of `dir` with a filler file, 4 KiB at a time, until it
/// refuses; removing the file gives the space back.
pub fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let Ok(mut f) = std::fs::File::create(&path) else { return path };
    let block = vec![0x5a_u8; 4096];
    while f.write_all(&block).and_then(|()| f.sync_data()).is_ok() {}
    path
}
