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
//! * **kdump** (`e2e.kdump=1`): stage 1 marks a page, loads a capture kernel
//!   told where, and crashes ([`crash`]); the capture kernel's `/init`
//!   (`e2e.stage=capture`) reads the mark back from `/proc/vmcore`
//!   ([`capture`], [`vmcore`]).
//!
//! * In a KHO run (`e2e.kho` on the command line) both stages also say what
//!   KHO shows in debugfs ([`kho`]).
//!
//! Either way the verdict leaves through QEMU's `isa-debug-exit` port.
//! Everything is printed to the console (`console=ttyS0`), which the suite
//! captures.

mod capture;
mod crash;
mod guest;
mod kho;
mod mount;
mod uefi;
mod vmcore;

use e2e_protocol::Pattern;
use e2e_protocol::kdump::{PARAM_KDUMP, STAGE_CAPTURE};
use e2e_protocol::kho::PARAM_KHO;
use e2e_protocol::protocol::{
    BIG_FILE, BIG_OK, DEBUG_EXIT_PORT, EXIT_FAIL, EXIT_PASS, INIT_FAIL, INIT_PASS, PARAM_BIG,
    PARAM_MARKER, PARAM_STAGE, PARAM_UEFI, STAGE2,
};
use guest::{kernel_release, param, say, uptime};
use mount::mount;
use std::fs::File;
use std::io::Read;

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
        Some(STAGE_CAPTURE) => capture::run(&cmdline),
        _ if param(&cmdline, PARAM_KDUMP).is_some() => crash::stage1(),
        _ => {
            if kho {
                kho::outgoing()?;
            }
            stage1()
        }
    }
}

fn stage1() -> Result<(), String> {
    let (loader, args) = guest::loader_and_args()?;
    let status = guest::run_loader(loader, &args)?;
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
