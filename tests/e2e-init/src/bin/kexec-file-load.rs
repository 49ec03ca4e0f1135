//! `kexec-file-load [-p] KERNEL [--initrd FILE] [--append CMDLINE] [--debug]`:
//! the guest side of the suite's `kexec-file-*` scenarios, where Linux itself
//! loads the purgatory. It hands the files to `kexec_file_load(2)` (the
//! kernel builds the segments, places its purgatory and patches it) and then
//! reboots into the loaded image with `reboot(LINUX_REBOOT_CMD_KEXEC)`. With
//! `-p` it loads a crash kernel (`KEXEC_FILE_ON_CRASH`, into the
//! `crashkernel=` reservation, with the ELF core headers the kernel writes
//! itself) and exits 0: a panic starts that one.
//!
//! Otherwise it returns only on failure: the stage-1 `/init` reports that. A refused
//! load is printed as `KEXEC-FILE-REFUSED: <errno>`, next to the kernel's own
//! message about why, which the refusal scenarios look for.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;

/// `KEXEC_FILE_DEBUG` (Linux 6.8+): the kernel logs the segments, where it put
/// the purgatory and the entry point. Not in the libc crate.
const KEXEC_FILE_DEBUG: libc::c_ulong = 0x8;

/// Printed when `kexec_file_load` fails.
const REFUSED: &str = "KEXEC-FILE-REFUSED";

#[derive(Debug, Default)]
struct Args {
    kernel: String,
    initrd: Option<String>,
    append: String,
    debug: bool,
    /// `-p`: the crash kernel.
    on_crash: bool,
}

fn main() {
    let why = match parse(std::env::args().skip(1)) {
        Ok(args) if args.on_crash => match load(&args) {
            Ok(()) => {
                say("kexec-file-load: loaded as the crash kernel; a panic starts it");
                std::process::exit(0);
            }
            Err(why) => why,
        },
        Ok(args) => load(&args).map_or_else(|why| why, |()| reboot()),
        Err(why) => why,
    };
    say(&format!("kexec-file-load: {why}"));
    std::process::exit(1);
}

fn parse(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    let mut kernel = None;
    while let Some(word) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("{word} needs a value"));
        match word.as_str() {
            "--initrd" => args.initrd = Some(value()?),
            "--append" => args.append = value()?,
            "--debug" => args.debug = true,
            "-p" | "--load-panic" => args.on_crash = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if kernel.is_none() => kernel = Some(word),
            _ => return Err(format!("unexpected argument {word}")),
        }
    }
    args.kernel = kernel
        .ok_or("usage: kexec-file-load [-p] KERNEL [--initrd FILE] [--append CMDLINE] [--debug]")?;
    Ok(args)
}

/// Loads the image.
fn load(args: &Args) -> Result<(), String> {
    let open = |path: &str| File::open(path).map_err(|err| format!("cannot open {path}: {err}"));
    let kernel = open(&args.kernel)?;
    let initrd = args.initrd.as_deref().map(open).transpose()?;
    let cmdline = CString::new(args.append.as_str())
        .map_err(|_| "the command line contains a NUL byte".to_owned())?;
    let mut flags = 0;
    if args.on_crash {
        flags |= libc::KEXEC_FILE_ON_CRASH as libc::c_ulong;
    }
    if initrd.is_none() {
        flags |= libc::KEXEC_FILE_NO_INITRAMFS as libc::c_ulong;
    }
    if args.debug {
        flags |= KEXEC_FILE_DEBUG;
    }
    say(&format!(
        "kexec-file-load: kexec_file_load({}, {}, {:?}, flags {flags:#x})",
        args.kernel,
        args.initrd.as_deref().unwrap_or("no initrd"),
        args.append
    ));
    // SAFETY: the descriptors are open for the whole call, and the command
    // line pointer and length (with its NUL, as the kernel requires) come
    // from a live CString.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_file_load,
            kernel.as_raw_fd(),
            initrd.as_ref().map_or(-1, |file| file.as_raw_fd()),
            cmdline.as_bytes_with_nul().len(),
            cmdline.as_ptr(),
            flags,
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        say(&format!("{REFUSED}: {err}"));
        return Err(format!("kexec_file_load failed: {err}"));
    }
    Ok(())
}

/// Reboots into the loaded image; returns why it could not.
fn reboot() -> String {
    say("kexec-file-load: image loaded; rebooting into it");
    // SAFETY: sync and reboot take no pointers; LINUX_REBOOT_CMD_KEXEC jumps
    // to the loaded image and does not return on success.
    let err = unsafe {
        libc::sync();
        libc::reboot(libc::LINUX_REBOOT_CMD_KEXEC);
        std::io::Error::last_os_error()
    };
    format!("reboot(LINUX_REBOOT_CMD_KEXEC) returned: {err}")
}

/// One line on the console.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn words(text: &str) -> impl Iterator<Item = String> {
        text.split(' ')
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn arguments_parse() {
        let args = parse(words(
            "/boot/bzImage --initrd /boot/s2.cpio --append a=b --debug",
        ))
        .unwrap();
        assert_eq!(args.kernel, "/boot/bzImage");
        assert_eq!(args.initrd.as_deref(), Some("/boot/s2.cpio"));
        assert_eq!(args.append, "a=b");
        assert!(args.debug && !args.on_crash);
        assert!(parse(words("-p /boot/bzImage")).unwrap().on_crash);
        assert!(parse(words("--debug")).is_err());
        assert!(parse(words("k --bogus")).is_err());
        assert!(parse(words("k --initrd")).is_err());
    }
}
