//! What every stage of the `/init` uses: the console, the command line, and
//! the loader stage 1 runs with its arguments.

use crate::mount::mount;
use e2e_protocol::protocol::ARGS_FILE;
pub use e2e_protocol::protocol::value as param;
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
    // Where the kernel shows its lockdown state, which kexec-load reads;
    // a kernel without securityfs has none to show.
    if let Err(why) = mount("securityfs", "/sys/kernel/security", "securityfs") {
        say(&format!("E2E-STAGE1: {why}"));
    }
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
