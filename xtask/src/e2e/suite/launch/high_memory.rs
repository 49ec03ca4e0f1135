//! The machine for a purgatory at or above 2^47 ([`HIGH_MEMORY`]): memory is there
//! only if QEMU puts it there. The CPU gets 52 physical address bits (TCG's
//! `-cpu max` has 40 by default), the machine one DIMM slot whose 1 GiB sits
//! at 2^47, and the first kernel onlines it as it appears
//! (`memhp_default_state=online`). Debian's kernel runs with 5-level paging
//! on `-cpu max` (LA57), so it maps that memory and adds it to
//! `/sys/firmware/memmap`, where `kexec-load --purgatory-addr high` finds the
//! top of RAM; the kexec's identity map then covers it too.

use crate::e2e::suite::table::HIGH_MEMORY;

/// The memory below 4 GiB and the room for the slot (`-m`).
pub const MEMORY: &str = "2G,slots=1,maxmem=130T";

/// What the first kernel's command line needs.
pub const APPEND: &str = "memhp_default_state=online";

/// The QEMU arguments that plug the memory in.
pub fn extra_args() -> Vec<String> {
    [
        "-global",
        "max-x86_64-cpu.phys-bits=52",
        "-object",
        "memory-backend-ram,id=high,size=1G",
        "-device",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!(
        "pc-dimm,id=dimm0,memdev=high,addr={HIGH_MEMORY:#x}"
    )])
    .collect()
}
