//! Kernel lockdown (`/sys/kernel/security/lockdown`, `lockdown=` on the
//! command line, or Secure Boot): at `integrity` and above Linux refuses
//! `kexec_load(2)` for every image with EPERM, since it would run unsigned
//! code. The tool reads the state before it tries and says what works instead.

use crate::sysfs::{SysfsError, read_text};
use std::fmt;
use std::path::Path;

/// The exit status when the kernel is locked down (1 is any other failure,
/// 2 a usage error).
pub const EXIT_LOCKED_DOWN: u8 = 3;

/// The running kernel's lockdown level, when it is not `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedDown {
    /// `integrity` or `confidentiality`.
    pub level: String,
}

impl fmt::Display for LockedDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the running kernel is locked down ({}): it refuses kexec_load(2) for any image (EPERM), \
             so this tool cannot load one. What works under lockdown is kexec_file_load(2) with an \
             image the kernel can verify (CONFIG_KEXEC_SIG and a signed bzImage, e.g. `kexec -s` or \
             `systemctl kexec`); to boot through this purgatory that way, the running kernel needs \
             the patch series in this project's kernel/ directory (kernel/README.md). Otherwise boot \
             the running kernel without lockdown (no lockdown= on its command line, Secure Boot off)",
            self.level
        )
    }
}

impl std::error::Error for LockedDown {}

/// The level in `path` (e.g. `none [integrity] confidentiality`): `None` when
/// it is `none`, or when the file does not exist (no lockdown LSM, or
/// securityfs not mounted: then `kexec_load`'s own EPERM is explained later).
pub fn read(path: &Path) -> Result<Option<LockedDown>, SysfsError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let level = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('[')?.strip_suffix(']'))
        .ok_or_else(|| SysfsError::new(path, format!("no [level] in {text:?}")))?;
    Ok((level != "none").then(|| LockedDown {
        level: level.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::scratch_dir;

    #[test]
    fn levels() {
        let dir = scratch_dir("lockdown");
        let file = dir.join("lockdown");
        assert_eq!(read(&file), Ok(None), "no file: nothing known");
        std::fs::write(&file, "[none] integrity confidentiality\n").unwrap();
        assert_eq!(read(&file), Ok(None));
        std::fs::write(&file, "none [integrity] confidentiality\n").unwrap();
        let locked = read(&file).unwrap().unwrap();
        assert_eq!(locked.level, "integrity");
        let text = locked.to_string();
        for needle in ["(integrity)", "EPERM", "kexec_file_load", "kernel/"] {
            assert!(text.contains(needle), "{needle:?} missing: {text}");
        }
        std::fs::write(&file, "none integrity [confidentiality]\n").unwrap();
        assert_eq!(read(&file).unwrap().unwrap().level, "confidentiality");
        std::fs::write(&file, "garbled\n").unwrap();
        assert!(read(&file).unwrap_err().to_string().contains("no [level]"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
