//! Where the tool reads the running system: one sysfs root, `/sys` unless
//! `--sysfs` names another (a test's fixture tree), the paths under it, and
//! reading its one-value files with errors that name the file.

use crate::number::parse_hex;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The default root.
pub const SYSFS_ROOT: &str = "/sys";

/// A sysfs tree: the real one or a fixture shaped like it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Self::new(SYSFS_ROOT)
    }
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The firmware's memory map (e820 as the running kernel was booted with it).
    pub fn memmap(&self) -> PathBuf {
        self.root.join("firmware/memmap")
    }

    /// The running kernel's `struct boot_params`, as its boot loader gave it.
    pub fn boot_params(&self) -> PathBuf {
        self.root.join("kernel/boot_params/data")
    }

    /// Present when the running kernel was booted through UEFI.
    pub fn efi(&self) -> PathBuf {
        self.root.join("firmware/efi")
    }

    /// The lockdown LSM's state (securityfs mounted on `kernel/security`).
    pub fn lockdown(&self) -> PathBuf {
        self.root.join("kernel/security/lockdown")
    }
}

/// A sysfs file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsError {
    pub path: PathBuf,
    pub why: String,
}

impl fmt::Display for SysfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.why)
    }
}

impl std::error::Error for SysfsError {}

impl SysfsError {
    pub fn new(path: &Path, why: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            why: why.into(),
        }
    }

    /// An I/O error, with the hint that many firmware files are root's.
    pub fn io(path: &Path, error: &io::Error) -> Self {
        let hint = if error.kind() == io::ErrorKind::PermissionDenied {
            " (readable by root only)"
        } else {
            ""
        };
        Self::new(path, format!("{error}{hint}"))
    }
}

/// The whole file as bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, SysfsError> {
    std::fs::read(path).map_err(|error| SysfsError::io(path, &error))
}

/// The file's text without surrounding white space.
pub fn read_text(path: &Path) -> Result<String, SysfsError> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|error| SysfsError::io(path, &error))
}

/// A file holding one hex number (`0x…`), as sysfs prints addresses.
pub fn read_hex(path: &Path) -> Result<u64, SysfsError> {
    let text = read_text(path)?;
    parse_hex(&text).ok_or_else(|| SysfsError::new(path, format!("not a hex number: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::scratch_dir;

    #[test]
    fn paths_hang_off_the_root() {
        let sysfs = Sysfs::new("/fixture");
        assert_eq!(
            sysfs.boot_params(),
            Path::new("/fixture/kernel/boot_params/data")
        );
        assert_eq!(sysfs.efi(), Path::new("/fixture/firmware/efi"));
        assert_eq!(sysfs.memmap(), Path::new("/fixture/firmware/memmap"));
        assert_eq!(
            Sysfs::default().lockdown(),
            Path::new("/sys/kernel/security/lockdown")
        );
    }

    #[test]
    fn hex_files_and_their_errors() {
        let dir = scratch_dir("sysfs-hex");
        std::fs::write(dir.join("good"), "0x7fbee018\n").unwrap();
        std::fs::write(dir.join("bad"), "seven\n").unwrap();
        assert_eq!(read_hex(&dir.join("good")), Ok(0x7fbe_e018));
        let err = read_hex(&dir.join("bad")).unwrap_err().to_string();
        assert!(err.contains("bad: not a hex number"), "{err}");
        let err = read_hex(&dir.join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing: No such file"), "{err}");
        let denied = SysfsError::io(
            Path::new("/sys/firmware/efi/systab"),
            &io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(denied.to_string().ends_with("(readable by root only)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
