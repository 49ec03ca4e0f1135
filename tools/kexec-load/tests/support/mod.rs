//! Test inputs shared by the unit tests (`crate::support`) and the CLI tests:
//! a synthetic bzImage, QEMU's memory map and a sysfs-like firmware map. The image is
//! written from the boot protocol's offsets (Documentation/arch/x86/boot.rst)
//! independently of the parser's constants, so that a wrong constant fails.

use std::path::{Path, PathBuf};

pub mod crash;

/// A minimal image with a 2.15 header: 64-bit, relocatable, above-4G, its
/// preferred address 16 MiB, `init_size` 8 MiB, command lines up to 2047
/// bytes, and `kernel_len` bytes of protected-mode kernel.
pub fn synthetic_bzimage(kernel_len: usize) -> Vec<u8> {
    let setup_sects = 3;
    let mut image = vec![0u8; (setup_sects + 1) * 512 + kernel_len];
    let mut put = |at: usize, bytes: &[u8]| image[at..at + bytes.len()].copy_from_slice(bytes);
    put(0x1f1, &[setup_sects as u8]); // setup_sects
    put(0x1fe, &0xaa55u16.to_le_bytes()); // boot_flag
    put(0x200, &[0xeb, 0x6a]); // jump: the header ends at 0x26c, as 2.15 kernels have it
    put(0x202, b"HdrS"); // header
    put(0x206, &0x020fu16.to_le_bytes()); // version
    put(0x20e, &0x0100u16.to_le_bytes()); // kernel_version, from 0x200
    put(0x300, b"6.99-test \0");
    put(0x211, &[1]); // loadflags: LOADED_HIGH
    put(0x22c, &0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
    put(0x230, &0x20_0000u32.to_le_bytes()); // kernel_alignment
    put(0x234, &[1]); // relocatable_kernel
    put(0x236, &0b11u16.to_le_bytes()); // xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G
    put(0x238, &2047u32.to_le_bytes()); // cmdline_size
    put(0x258, &0x100_0000u64.to_le_bytes()); // pref_address
    put(0x260, &0x80_0000u32.to_le_bytes()); // init_size
    image
}

/// QEMU's map for `-m 6G`: `(start, last byte, type name)`.
pub const QEMU_6G: &[(u64, u64, &str)] = &[
    (0x0, 0x9_fbff, "System RAM"),
    (0x9_fc00, 0xf_ffff, "Reserved"),
    (0x10_0000, 0xbffd_ffff, "System RAM"),
    (0xbffe_0000, 0xbfff_ffff, "Reserved"),
    (0xfeff_c000, 0xfeff_ffff, "Reserved"),
    (0xfffc_0000, 0xffff_ffff, "Reserved"),
    (0x1_0000_0000, 0x1_bfff_ffff, "System RAM"),
];

/// Writes a map as /sys/firmware/memmap has it; entries are
/// `(start, last byte, type name)`.
pub fn write_map(dir: &Path, entries: &[(u64, u64, &str)]) {
    for (index, (start, last, name)) in entries.iter().enumerate() {
        let entry = dir.join(index.to_string());
        std::fs::create_dir_all(&entry).unwrap();
        std::fs::write(entry.join("start"), format!("{start:#x}\n")).unwrap();
        std::fs::write(entry.join("end"), format!("{last:#x}\n")).unwrap();
        std::fs::write(entry.join("type"), format!("{name}\n")).unwrap();
    }
}

/// An empty directory of its own under the system's temporary directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kexec-load-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
