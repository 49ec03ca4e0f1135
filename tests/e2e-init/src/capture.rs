//! The capture kernel's `/init` (`e2e.stage=capture`): reads the dead
//! kernel's memory through `/proc/vmcore` and checks what stage 1 left
//! there: the marker at its physical address, the first kernel's release in
//! VMCOREINFO, and one saved register set per CPU that was online. It prints
//! what it found on one [`VMCORE`] line either way, then passes or fails.

use crate::guest::{param, say, uptime};
use crate::vmcore::Dump;
use e2e_protocol::kdump::{
    CAPTURE, KEY_ADDR, KEY_BYTES, KEY_MARKER, KEY_OFFSET, KEY_PRSTATUS, KEY_RELEASE, PARAM_ADDR,
    PARAM_CPUS, PARAM_MARKER, PARAM_RELEASE, VMCORE,
};
use e2e_protocol::protocol::INIT_PASS;

const VMCORE_PATH: &str = "/proc/vmcore";

pub fn run(cmdline: &str) -> Result<(), String> {
    let wanted = |key| param(cmdline, key).ok_or(format!("no {key}= on the command line"));
    let (addr_text, marker, release) = (
        wanted(PARAM_ADDR)?,
        wanted(PARAM_MARKER)?,
        wanted(PARAM_RELEASE)?,
    );
    let cpus: usize = wanted(PARAM_CPUS)?
        .parse()
        .map_err(|_| format!("{PARAM_CPUS} is not a number"))?;
    let addr = addr_text
        .strip_prefix("0x")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or(format!("{PARAM_ADDR}={addr_text} is not a hex address"))?;
    say(&format!("{CAPTURE} /init running at uptime {}", uptime()));
    let dump = Dump::open(VMCORE_PATH)?;
    let (offset, found) = dump.read_physical(addr, marker.len())?;
    let found = String::from_utf8_lossy(&found).into_owned();
    let dumped_release = dump.release.as_deref().unwrap_or("none");
    say(&format!(
        "{VMCORE} {KEY_ADDR}={addr:#x} {KEY_MARKER}={found} {KEY_OFFSET}={offset:#x} {KEY_BYTES}={} \
         {KEY_RELEASE}={dumped_release} {KEY_PRSTATUS}={}",
        dump.size, dump.prstatus
    ));
    if found != marker {
        return Err(format!(
            "{VMCORE_PATH} holds {found:?} at {addr:#x}, stage 1 wrote {marker:?}"
        ));
    }
    if dumped_release != release {
        return Err(format!(
            "VMCOREINFO says OSRELEASE={dumped_release}, the first kernel was {release}"
        ));
    }
    if dump.prstatus != cpus {
        return Err(format!(
            "{} CPU register sets in the dump, {cpus} CPUs were online",
            dump.prstatus
        ));
    }
    say(&format!(
        "{INIT_PASS}: the capture kernel read the marker back from {VMCORE_PATH}"
    ));
    Ok(())
}
