//! The `/init` of the e2e suite's initramfs images (a static binary: the
//! images hold no libraries).
//!
//! * **Stage 1** (the kernel QEMU boots): runs `/bin/kexec-load` with the
//!   arguments in `/e2e/kexec-args`, one per line. They end in `--exec`, so the
//!   tool never returns when it works; if it does return, the run fails. In an
//!   image that holds `/bin/kexec-file-load` instead (the patched-kernel
//!   scenarios, where Linux's own `kexec_file_load` places the purgatory), that
//!   tool runs, with the same convention.
//! * **Stage 2** (`e2e.stage=2` on the command line, i.e. the kernel
//!   kexec-load booted): prints the `e2e.marker` token it was given, checks
//!   `/big.bin` against `e2e.big=<bytes>:<seed>` if asked, reports what the
//!   kernel inherited under UEFI with `e2e.uefi` ([`uefi`]), and passes.
//!
//! * In a KHO run (`e2e.kho` on the command line) both stages also say what
//!   KHO shows in debugfs ([`kho`]).
//!
//! Either way the verdict leaves through QEMU's `isa-debug-exit` port.
//! Everything is printed to the console (`console=ttyS0`), which the suite
//! captures.

mod kho;
mod mount;
mod uefi;

use e2e_protocol::Pattern;
use e2e_protocol::kho::PARAM_KHO;
use e2e_protocol::protocol::{
    ARGS_FILE, BIG_FILE, BIG_OK, DEBUG_EXIT_PORT, EXIT_FAIL, EXIT_PASS, INIT_FAIL, INIT_PASS,
    PARAM_BIG, PARAM_MARKER, PARAM_STAGE, PARAM_UEFI, STAGE2,
};
use mount::mount;
use std::fs::File;
use std::io::{Read, Write};
use std::process::Command;

fn main() {
    let code = match run() {
        Ok(()) => EXIT_PASS,
        Err(why) => {
            say(&format!("{INIT_FAIL}: {why}"));
            EXIT_FAIL
        }
    };
    exit_qemu(code)
}

fn run() -> Result<(), String> {
    mount("devtmpfs", "/dev", "devtmpfs")?;
    mount("proc", "/proc", "proc")?;
    mount("sysfs", "/sys", "sysfs")?;
    let cmdline = std::fs::read_to_string("/proc/cmdline")
        .map_err(|err| format!("cannot read /proc/cmdline: {err}"))?;
    let kho = param(&cmdline, PARAM_KHO).is_some();
    match param(&cmdline, PARAM_STAGE) {
        Some("2") => {
            if kho {
                kho::incoming()?;
            }
            stage2(&cmdline)
        }
        _ => {
            if kho {
                kho::outgoing()?;
            }
            stage1()
        }
    }
}

/// The loader stage 1 runs: `kexec_file_load(2)` when the image has that tool.
fn stage1_loader() -> &'static str {
    const FILE_LOAD: &str = "/bin/kexec-file-load";
    if std::path::Path::new(FILE_LOAD).exists() {
        FILE_LOAD
    } else {
        "/bin/kexec-load"
    }
}

fn stage1() -> Result<(), String> {
    // Where the kernel shows its lockdown state, which kexec-load reads;
    // a kernel without securityfs has none to show.
    if let Err(why) = mount("securityfs", "/sys/kernel/security", "securityfs") {
        say(&format!("E2E-STAGE1: {why}"));
    }
    let loader = stage1_loader();
    let args_path = format!("/{ARGS_FILE}");
    let args: Vec<String> = std::fs::read_to_string(&args_path)
        .map_err(|err| format!("cannot read {args_path}: {err}"))?
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    say(&format!(
        "E2E-STAGE1: /init running at uptime {}, executing {loader} {}",
        uptime(),
        args.join(" ")
    ));
    let status = Command::new(loader)
        .args(&args)
        .status()
        .map_err(|err| format!("cannot run {loader}: {err}"))?;
    Err(format!(
        "{loader} returned ({status}) instead of rebooting into the new image"
    ))
}

fn stage2(cmdline: &str) -> Result<(), String> {
    let marker = param(cmdline, PARAM_MARKER).unwrap_or("");
    say(&format!(
        "{STAGE2} marker={marker} uptime={} kernel={}",
        uptime(),
        kernel_release()
    ));
    if let Some(spec) = param(cmdline, PARAM_BIG) {
        check_big_file(spec)?;
    }
    if param(cmdline, PARAM_UEFI).is_some() {
        for line in uefi::report() {
            say(&line);
        }
    }
    say(&format!(
        "{INIT_PASS}: the second kernel's /init ran with marker={marker}"
    ));
    Ok(())
}

/// Compares `/big.bin` with the filler pattern the suite wrote.
fn check_big_file(spec: &str) -> Result<(), String> {
    let (len, seed) = spec
        .split_once(':')
        .and_then(|(len, seed)| Some((len.parse::<u64>().ok()?, seed.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("malformed {PARAM_BIG}={spec}"))?;
    let path = format!("/{BIG_FILE}");
    let mut file = File::open(&path).map_err(|err| format!("cannot open {path}: {err}"))?;
    let mut pattern = Pattern::new(seed);
    let mut expected = vec![0u8; 1 << 20];
    let mut actual = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    loop {
        let read =
            read_full(&mut file, &mut actual).map_err(|err| format!("reading {path}: {err}"))?;
        if read == 0 {
            break;
        }
        pattern.fill(&mut expected);
        if let Some(at) = actual[..read]
            .iter()
            .zip(&expected)
            .position(|(a, e)| a != e)
        {
            return Err(format!(
                "{path} differs from the pattern at byte {}",
                offset + at as u64
            ));
        }
        offset += read as u64;
    }
    if offset != len {
        return Err(format!("{path} has {offset} bytes, the suite wrote {len}"));
    }
    say(&format!(
        "{BIG_OK}: {path} holds all {len} bytes the suite wrote (seed {seed})"
    ));
    Ok(())
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// `key=value` from the kernel command line.
fn param<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// One line on the console. Never panics: PID 1 must not die.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Ends the QEMU run through `isa-debug-exit`; if that is impossible (no
/// device, no I/O privilege), powers off, which the suite sees as a failure
/// because it lacks the pass status.
fn exit_qemu(code: u8) -> ! {
    // SAFETY: ioperm only changes this process's I/O permission bitmap.
    if unsafe { libc::ioperm(DEBUG_EXIT_PORT.into(), 4, 1) } == 0 {
        // SAFETY: the port was just granted; writing it stops the machine.
        unsafe {
            std::arch::asm!("out dx, al", in("dx") DEBUG_EXIT_PORT, in("al") code, options(nomem, nostack));
        }
    }
    say(&format!(
        "/init: isa-debug-exit did not stop QEMU ({}); powering off",
        std::io::Error::last_os_error()
    ));
    // SAFETY: reboot(2) with a valid command; as PID 1 there is nothing to sync.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::param;

    #[test]
    fn params_match_whole_keys() {
        let cmdline = "console=ttyS0 e2e.stage=2 e2e.marker=a-b e2e.big=64:7 e2e.stagex=9\n";
        assert_eq!(param(cmdline, "e2e.stage"), Some("2"));
        assert_eq!(param(cmdline, "e2e.marker"), Some("a-b"));
        assert_eq!(param(cmdline, "e2e.big"), Some("64:7"));
        assert_eq!(param(cmdline, "e2e.missing"), None);
        assert_eq!(param("e2e.stagex=9", "e2e.stage"), None);
    }
}
