//! Stage 1 of a kdump scenario (`e2e.kdump=1`): writes a random marker into
//! a page of its own, finds the page's physical address in
//! `/proc/self/pagemap`, adds both (with the kernel's release and CPU count)
//! to the capture kernel's command line, has the loader load it as the crash
//! kernel, and crashes the kernel with `echo c > /proc/sysrq-trigger`. It
//! crashes on CPU 0, so that a purgatory that halts does so where the suite's
//! monitor looks, and the crash path has to stop the other CPU.

use crate::guest::{self, kernel_release, say};
use e2e_protocol::kdump::{
    CRASHING, KEY_ADDR, KEY_CPUS, KEY_MARKER, KEY_RELEASE, MARKER_LEN, PARAM_ADDR, PARAM_CPUS,
    PARAM_MARKER, PARAM_RELEASE,
};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

const PAGE_SIZE: usize = 4096;
/// `/proc/self/pagemap`: bit 63 "present", bits 0-54 the frame number (root).
const PRESENT: u64 = 1 << 63;
const PFN_MASK: u64 = (1 << 55) - 1;

/// Marks, loads, crashes; returns only if something went wrong.
pub fn stage1() -> Result<(), String> {
    pin_to_cpu0()?;
    let (marker, offset) = random_marker()?;
    let page = MarkedPage::new(&marker, offset)?;
    let addr = page.physical()? + offset as u64;
    let release = kernel_release();
    let cpus = online_cpus()?;
    let (loader, mut args) = guest::loader_and_args()?;
    let params = format!(
        "{PARAM_ADDR}={addr:#x} {PARAM_MARKER}={marker} {PARAM_RELEASE}={release} {PARAM_CPUS}={cpus}"
    );
    append_to_cmdline(&mut args, &params);
    let status = guest::run_loader(loader, &args)?;
    if !status.success() {
        return Err(format!(
            "{loader} could not load the crash kernel ({status})"
        ));
    }
    if page.physical()? + offset as u64 != addr {
        return Err("the marked page moved after its address was given".into());
    }
    say(&format!(
        "{CRASHING} {KEY_ADDR}={addr:#x} {KEY_MARKER}={marker} {KEY_RELEASE}={release} {KEY_CPUS}={cpus}"
    ));
    // The console's tty sends asynchronously, and a panic stops it: wait
    // until the line has left.
    // SAFETY: tcdrain only waits on the descriptor; an error (stdout not a
    // tty) just means there is nothing to wait for.
    unsafe {
        libc::tcdrain(libc::STDOUT_FILENO);
    }
    std::fs::write("/proc/sysrq-trigger", "c")
        .map_err(|err| format!("cannot write /proc/sysrq-trigger: {err}"))?;
    Err("the kernel is still running after echo c > /proc/sysrq-trigger".into())
}

/// The loader's arguments get `params` at the end of the `--append` value
/// (or a new `--append`).
fn append_to_cmdline(args: &mut Vec<String>, params: &str) {
    match args.iter().position(|arg| arg == "--append") {
        Some(at) if at + 1 < args.len() => {
            let cmdline = &mut args[at + 1];
            cmdline.push(' ');
            cmdline.push_str(params);
        }
        _ => args.extend(["--append".into(), params.into()]),
    }
}

/// [`MARKER_LEN`] hex digits from 16 random bytes, and where in the page it
/// goes (8-byte aligned, never straddling the page's end).
fn random_marker() -> Result<(String, usize), String> {
    let mut bytes = [0u8; MARKER_LEN / 2 + 1];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|err| format!("cannot read /dev/urandom: {err}"))?;
    let (offset_byte, marker) = bytes.split_last().unwrap_or((&0, &[]));
    let marker: String = marker.iter().map(|b| format!("{b:02x}")).collect();
    let offset = usize::from(*offset_byte) * 8 % (PAGE_SIZE - MARKER_LEN);
    Ok((marker, offset))
}

/// One locked anonymous page holding the marker.
struct MarkedPage {
    addr: *mut u8,
}

impl MarkedPage {
    fn new(marker: &str, offset: usize) -> Result<Self, String> {
        // SAFETY: an anonymous private mapping of one page; no file, no
        // existing memory is touched.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE | libc::MAP_LOCKED,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(format!(
                "cannot map the marker's page: {}",
                std::io::Error::last_os_error()
            ));
        }
        let addr = addr.cast::<u8>();
        // SAFETY: `offset + marker.len()` is within the page just mapped
        // (random_marker keeps it below PAGE_SIZE - MARKER_LEN), which nothing
        // else uses.
        unsafe {
            std::ptr::copy_nonoverlapping(marker.as_ptr(), addr.add(offset), marker.len());
        }
        Ok(Self { addr })
    }

    /// The page's physical address, from `/proc/self/pagemap`.
    fn physical(&self) -> Result<u64, String> {
        let index = self.addr as u64 / PAGE_SIZE as u64;
        let mut entry = [0u8; 8];
        File::open("/proc/self/pagemap")
            .and_then(|f| f.read_exact_at(&mut entry, index * 8))
            .map_err(|err| format!("cannot read /proc/self/pagemap: {err}"))?;
        let entry = u64::from_le_bytes(entry);
        let frame = entry & PFN_MASK;
        if entry & PRESENT == 0 || frame == 0 {
            return Err(format!(
                "pagemap entry {entry:#x}: the page is not present, or its frame is hidden"
            ));
        }
        Ok(frame * PAGE_SIZE as u64)
    }
}

/// Crashes on CPU 0: the purgatory and the capture kernel then run there.
fn pin_to_cpu0() -> Result<(), String> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and
    // sched_setaffinity only read and write it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        return Err(format!(
            "cannot pin /init to CPU 0: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// How many CPUs `/sys/devices/system/cpu/online` lists (`0-1`, `0,2-3`).
fn online_cpus() -> Result<u32, String> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read {path}: {err}"))?;
    count_cpus(text.trim()).ok_or_else(|| format!("{path}: cannot read {text:?}"))
}

fn count_cpus(list: &str) -> Option<u32> {
    list.split(',')
        .map(|range| match range.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (first.parse::<u32>().ok()?, last.parse::<u32>().ok()?);
                last.checked_sub(first).map(|n| n + 1)
            }
            None => range.parse::<u32>().ok().map(|_| 1),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_go_at_the_end_of_the_command_line() {
        let mut args: Vec<String> = ["-p", "/boot/vmlinuz", "--append", "console=ttyS0", "--json"]
            .map(String::from)
            .to_vec();
        append_to_cmdline(&mut args, "e2e.kdump.addr=0x1000");
        assert_eq!(args[3], "console=ttyS0 e2e.kdump.addr=0x1000");
        let mut args = vec!["-p".to_owned(), "k".to_owned()];
        append_to_cmdline(&mut args, "x=1");
        assert_eq!(args, ["-p", "k", "--append", "x=1"]);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpus("0-1"), Some(2));
        assert_eq!(count_cpus("0"), Some(1));
        assert_eq!(count_cpus("0,2-3"), Some(3));
        assert_eq!(count_cpus("1-0"), None);
        assert_eq!(count_cpus("x"), None);
    }

    /// The page is this process's, present, and its frame is a real one
    /// (root reads it; others get 0, which is refused).
    #[test]
    fn a_marked_page_holds_the_marker() {
        let (marker, offset) = random_marker().unwrap();
        assert_eq!(marker.len(), MARKER_LEN);
        assert!(offset % 8 == 0 && offset + MARKER_LEN <= PAGE_SIZE);
        let page = MarkedPage::new(&marker, offset).unwrap();
        // SAFETY: the page is mapped and holds MARKER_LEN bytes at offset.
        let back = unsafe { std::slice::from_raw_parts(page.addr.add(offset), MARKER_LEN) };
        assert_eq!(back, marker.as_bytes());
        match page.physical() {
            Ok(addr) => assert_eq!(addr % PAGE_SIZE as u64, 0),
            Err(why) => assert!(why.contains("hidden"), "{why}"),
        }
    }
}
