//! What a crash load reads, as two QEMU guests (Debian's 6.12, `-smp 2`)
//! showed it: `-m 2G crashkernel=256M` and `-m 6G crashkernel=256M,high`. The
//! files are written into a procfs and a sysfs directory as the kernel lays
//! them out;
//! `/proc/kcore` is reduced to its ELF and program headers, packed here from
//! the ELF64 offsets independently of the tool's reader.

use std::path::{Path, PathBuf};

/// `/proc/iomem` with `crashkernel=256M` on `-m 2G`: below 4 GiB.
pub const QEMU_IOMEM_LOW: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c05ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-7ffdffff : System RAM
  41200000-421fffff : Kernel code
  42200000-42d70fff : Kernel rodata
  42e00000-43070f7f : Kernel data
  43936000-43dfffff : Kernel bss
  6f000000-7effffff : Crash kernel
7ffe0000-7fffffff : Reserved
80000000-febfffff : PCI Bus 0000:00
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fffc0000-ffffffff : Reserved
100000000-17fffffff : PCI Bus 0000:00
fd00000000-ffffffffff : Reserved
";

/// `/proc/iomem` with `crashkernel=256M,high` on `-m 6G`: the reservation
/// above 4 GiB and 256 MiB more below for DMA.
pub const QEMU_IOMEM_HIGH: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c05ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-bffdffff : System RAM
  af000000-beffffff : Crash kernel
bffe0000-bfffffff : Reserved
c0000000-febfffff : PCI Bus 0000:00
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fffc0000-ffffffff : Reserved
100000000-1bfffffff : System RAM
  112a00000-1139fffff : Kernel code
  113a00000-114570fff : Kernel rodata
  114600000-114870f7f : Kernel data
  115136000-1155fffff : Kernel bss
  1af000000-1beffffff : Crash kernel
1c0000000-23fffffff : PCI Bus 0000:00
fd00000000-ffffffffff : Reserved
";

/// `sizeof(note_buf_t)` as `crash_notes_size` gave it.
pub const NOTE_SIZE: u64 = 368;
/// `VMCOREINFO_NOTE_SIZE`, which `/sys/kernel/vmcoreinfo` prints in hex.
pub const VMCOREINFO_SIZE: u64 = 0x1024;
/// `/proc/kcore`'s value for "no physical address".
pub const NO_PADDR: u64 = u64::MAX;

/// One `/proc/kcore` PT_LOAD: `(vaddr, paddr, size)`.
pub type KcoreLoad = (u64, u64, u64);

/// Everything a crash load reads from one machine.
#[derive(Debug, Clone, Copy)]
pub struct CrashMachine {
    pub iomem: &'static str,
    /// `crash_notes` of cpu0, cpu1, …
    pub notes: &'static [u64],
    pub vmcoreinfo: u64,
    /// The PT_LOADs of `/proc/kcore`, its text mapping first.
    pub kcore: &'static [KcoreLoad],
}

/// The 2 GiB guest with `crashkernel=256M`.
pub const QEMU_LOW: CrashMachine = CrashMachine {
    iomem: QEMU_IOMEM_LOW,
    notes: &[0x7fc3_d800, 0x7fd3_d800],
    vmcoreinfo: 0x7fde_4000,
    kcore: &[
        (0xffff_ffff_8b40_0000, 0x4120_0000, 0x2c3_0000),
        (0xffff_cd08_4000_0000, NO_PADDR, 0x1fff_ffff_ffff),
        (0xffff_ffff_c000_0000, NO_PADDR, 0x3f00_0000),
        (0xffff_8c93_4000_1000, 0x1000, 0x9_e000),
        (0xffff_f716_0000_0000, NO_PADDR, 0x3000),
        (0xffff_8c93_4010_0000, 0x10_0000, 0x7fee_0000),
        (0xffff_f716_0000_4000, NO_PADDR, 0x1ff_c000),
    ],
};

/// The 6 GiB guest with `crashkernel=256M,high`.
pub const QEMU_HIGH: CrashMachine = CrashMachine {
    iomem: QEMU_IOMEM_HIGH,
    notes: &[0x1_bfc3_da00, 0x1_bfd3_da00],
    vmcoreinfo: 0x1_0039_a000,
    kcore: &[
        (0xffff_ffff_9cc0_0000, 0x1_12a0_0000, 0x2c3_0000),
        (0xffff_d2d7_0000_0000, NO_PADDR, 0x1fff_ffff_ffff),
        (0xffff_ffff_c000_0000, NO_PADDR, 0x3f00_0000),
        (0xffff_88f6_4000_1000, 0x1000, 0x9_e000),
        (0xffff_f60c_8000_0000, NO_PADDR, 0x3000),
        (0xffff_88f6_4010_0000, 0x10_0000, 0xbfee_0000),
        (0xffff_f60c_8000_4000, NO_PADDR, 0x2ff_c000),
        (0xffff_88f7_4000_0000, 0x1_0000_0000, 0xc000_0000),
        (0xffff_f60c_8400_0000, NO_PADDR, 0x300_0000),
    ],
};

/// Writes `machine`'s files into `proc` and `sys`, where the kernel has them
/// under `/proc` and `/sys`.
pub fn write_crash_fixture(proc: &Path, sys: &Path, machine: &CrashMachine) {
    let write = |path: PathBuf, contents: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    };
    write(proc.join("iomem"), machine.iomem.as_bytes());
    write(proc.join("kcore"), &kcore_headers(machine.kcore));
    write(
        sys.join("kernel/vmcoreinfo"),
        format!("{:#018x} {VMCOREINFO_SIZE:x}\n", machine.vmcoreinfo).as_bytes(),
    );
    let cpus = sys.join("devices/system/cpu");
    for (cpu, addr) in machine.notes.iter().enumerate() {
        let dir = cpus.join(format!("cpu{cpu}"));
        write(dir.join("crash_notes"), format!("{addr:x}\n").as_bytes());
        write(
            dir.join("crash_notes_size"),
            format!("{NOTE_SIZE}\n").as_bytes(),
        );
    }
    // Not a CPU: sysfs has these next to the CPUs.
    write(cpus.join("possible"), b"0-1\n");
    std::fs::create_dir_all(cpus.join("cpufreq")).unwrap();
}

/// An ELF64 core header with a PT_NOTE and `loads` as PT_LOADs, as
/// `/proc/kcore` begins.
pub fn kcore_headers(loads: &[KcoreLoad]) -> Vec<u8> {
    let phnum = loads.len() + 1;
    let mut bytes = vec![0u8; 64 + 56 * phnum];
    let mut put = |at: usize, value: &[u8]| bytes[at..at + value.len()].copy_from_slice(value);
    put(0, b"\x7fELF\x02\x01\x01"); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
    put(16, &4u16.to_le_bytes()); // ET_CORE
    put(18, &62u16.to_le_bytes()); // EM_X86_64
    put(20, &1u32.to_le_bytes()); // e_version
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes()); // e_ehsize
    put(54, &56u16.to_le_bytes()); // e_phentsize
    put(56, &(phnum as u16).to_le_bytes()); // e_phnum
    put(64, &4u32.to_le_bytes()); // PT_NOTE
    for (index, &(vaddr, paddr, size)) in loads.iter().enumerate() {
        let at = 64 + 56 * (index + 1);
        put(at, &1u32.to_le_bytes()); // PT_LOAD
        put(at + 4, &7u32.to_le_bytes()); // RWX
        put(
            at + 8,
            &vaddr.wrapping_sub(0xffff_8000_0000_0000).to_le_bytes(),
        );
        put(at + 16, &vaddr.to_le_bytes());
        put(at + 24, &paddr.to_le_bytes());
        put(at + 32, &size.to_le_bytes());
        put(at + 40, &size.to_le_bytes());
        put(at + 48, &4096u64.to_le_bytes());
    }
    bytes
}
