//! Mounting the pseudo file systems the `/init` reads.

use std::ffi::CString;

/// Mounts `fstype` from `source` on `target` (created if missing); one
/// already mounted there is fine. Debian's kernels do not mount devtmpfs for
/// the initramfs (`DEVTMPFS_MOUNT` is off), so even that is the `/init`'s.
pub fn mount(source: &str, target: &str, fstype: &str) -> Result<(), String> {
    let _ = std::fs::create_dir_all(target);
    let c = |s: &str| CString::new(s).map_err(|_| format!("NUL in {s:?}"));
    let (source_c, target_c, fstype_c) = (c(source)?, c(target)?, c(fstype)?);
    // SAFETY: three valid NUL-terminated strings and no mount data.
    let rc = unsafe {
        libc::mount(
            source_c.as_ptr(),
            target_c.as_ptr(),
            fstype_c.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    let err = std::io::Error::last_os_error();
    if rc != 0 && err.raw_os_error() != Some(libc::EBUSY) {
        return Err(format!("cannot mount {fstype} on {target}: {err}"));
    }
    Ok(())
}
