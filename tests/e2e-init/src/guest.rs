//! What every stage of the `/init` uses: the console, the command line, the
//! pseudo file systems, and the loader stage 1 runs with its arguments.

use e2e_protocol::protocol::ARGS_FILE;
pub use e2e_protocol::protocol::value as param;
use std::ffi::CString;
use std::io::Write;
use std::process::{Command, ExitStatus};

/// The loader stage 1 runs (`kexec_file_load(2)` when the image has that
/// tool, else `kexec-load`), and its arguments from `/e2e/kexec-args`, one
/// per line.
pub fn loader_and_args() -> Result<(&'static str, Vec<String>), String> {
    const FILE_LOAD: &str = "/bin/kexec-file-load";
    let loader = if std::path::Path::new(FILE_LOAD).exists() {
        FILE_LOAD
    } else {
        "/bin/kexec-load"
    };
    let path = format!("/{ARGS_FILE}");
    let args = std::fs::read_to_string(&path)
        .map_err(|err| format!("cannot read {path}: {err}"))?
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    Ok((loader, args))
}

/// Says what stage 1 runs, and runs it.
pub fn run_loader(loader: &str, args: &[String]) -> Result<ExitStatus, String> {
    say(&format!(
        "E2E-STAGE1: /init running at uptime {}, executing {loader} {}",
        uptime(),
        args.join(" ")
    ));
    Command::new(loader)
        .args(args)
        .status()
        .map_err(|err| format!("cannot run {loader}: {err}"))
}

/// Mounts a pseudo file system; Debian's kernels do not mount devtmpfs for
/// the initramfs (`DEVTMPFS_MOUNT` is off).
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

pub fn uptime() -> String {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// One line on the console. Never panics: PID 1 must not die.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
