//! For disk-full tests of the outbox here and of the whole pipeline in the binary's
//! tests: a small tmpfs, and a filler that takes what space is left. Production
//! never uses it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` (`mount -o size=`), unmounted when dropped.
pub struct SmallDisk {
    pub path: PathBuf,
}

impl SmallDisk {
    /// Mounts it on `<parent>/disk` (made here), or says why not (mounting needs root
    /// or CAP_SYS_ADMIN): the caller skips, saying so.
    pub fn mount(parent: &Path, size: &str) -> Result<Self, String> {
        let path = parent.join("disk");
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
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
