//! Test inputs shared by the unit tests (`crate::support`) and the CLI tests:
//! a synthetic bzImage, QEMU's and OVMF's memory maps, and sysfs trees of a
//! BIOS and a UEFI boot ([`SysfsFixture`]). The image and the binary files are
//! written from the boot protocol's offsets (Documentation/arch/x86/boot.rst,
//! zero-page.rst) independently of the tool's constants, so that a wrong
//! constant fails.

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

/// An EFI runtime map as a 6.x kernel under OVMF exports it, in its order
/// (top-down): `(type, phys_addr, virt_addr, num_pages, attribute)`.
pub const OVMF_RUNTIME_MAP: &[(u32, u64, u64, u64, u64)] = &[
    (
        0xb,
        0xffc0_0000,
        0xffff_fffe_fec0_0000,
        0x400,
        0x8000_0000_0000_0001,
    ),
    (
        0x6,
        0x7fbf_4000,
        0xffff_fffe_fe80_0000,
        0x8,
        0x8000_0000_0000_000f,
    ),
    (
        0x5,
        0x7fbe_e000,
        0xffff_fffe_fe60_0000,
        0x6,
        0x8000_0000_0000_000f,
    ),
    (
        0x6,
        0x7fbd_8000,
        0xffff_fffe_fe40_0000,
        0x16,
        0x8000_0000_0000_000f,
    ),
    (
        0x5,
        0x7fb8_8000,
        0xffff_fffe_fe20_0000,
        0x50,
        0x8000_0000_0000_000f,
    ),
    (
        0x6,
        0x7f8f_0000,
        0xffff_fffe_fe00_0000,
        0x2,
        0x8000_0000_0000_000f,
    ),
    (
        0x6,
        0x7f8e_e000,
        0xffff_fffe_fdc0_0000,
        0x2,
        0x8000_0000_0000_000f,
    ),
    (
        0x5,
        0x7e9e_b000,
        0xffff_fffe_fda0_0000,
        0xa,
        0x8000_0000_0000_000f,
    ),
    (
        0x6,
        0x7e9d_f000,
        0xffff_fffe_fd80_0000,
        0xc,
        0x8000_0000_0000_000f,
    ),
    (
        0x5,
        0x7e9d_6000,
        0xffff_fffe_fd60_0000,
        0x9,
        0x8000_0000_0000_000f,
    ),
    (
        0x6,
        0x7e9c_9000,
        0xffff_fffe_fd40_0000,
        0xd,
        0x8000_0000_0000_000f,
    ),
    (
        0x5,
        0x7e9c_3000,
        0xffff_fffe_fd20_0000,
        0x6,
        0x8000_0000_0000_000f,
    ),
];

/// OVMF's e820 map for `-m 2G` (q35): `(start, last byte, type name)`.
pub const OVMF_2G: &[(u64, u64, &str)] = &[
    (0x0, 0x9_ffff, "System RAM"),
    (0x10_0000, 0x7f_ffff, "System RAM"),
    (0x80_0000, 0x80_7fff, "ACPI Non-volatile Storage"),
    (0x80_8000, 0x81_0fff, "System RAM"),
    (0x81_1000, 0x8f_ffff, "ACPI Non-volatile Storage"),
    (0x90_0000, 0x7e5a_0fff, "System RAM"),
    (0x7e5a_1000, 0x7e9c_2fff, "Reserved"),
    (0x7e9c_3000, 0x7f8d_bfff, "System RAM"),
    (0x7f8d_c000, 0x7fb7_dfff, "Reserved"),
    (0x7fb7_e000, 0x7fb7_efff, "ACPI Tables"),
    (0x7fb7_f000, 0x7fbf_efff, "ACPI Non-volatile Storage"),
    (0x7fbf_f000, 0x7fe4_ffff, "System RAM"),
    (0x7fe5_0000, 0x7fe6_ffff, "Reserved"),
    (0x7fe7_0000, 0x7fff_ffff, "ACPI Non-volatile Storage"),
    (0xb000_0000, 0xbfff_ffff, "Reserved"),
    (0xffc0_0000, 0xffff_ffff, "Reserved"),
];

/// Writes a runtime map as /sys/firmware/efi/runtime-map has it.
pub fn write_runtime_map(dir: &Path, entries: &[(u32, u64, u64, u64, u64)]) {
    for (index, &(kind, phys, virt, pages, attribute)) in entries.iter().enumerate() {
        let entry = dir.join(index.to_string());
        std::fs::create_dir_all(&entry).unwrap();
        for (name, value) in [
            ("type", u64::from(kind)),
            ("phys_addr", phys),
            ("virt_addr", virt),
            ("num_pages", pages),
            ("attribute", attribute),
        ] {
            std::fs::write(entry.join(name), format!("{value:#x}\n")).unwrap();
        }
    }
}

/// The ACPI 2.0 RSDP of the EFI fixtures.
pub const OVMF_ACPI20: u64 = 0x7fb7_e014;

/// Writes /sys/firmware/efi as a kernel booted by OVMF has it.
pub fn write_efi_dir(dir: &Path, runtime_map: &[(u32, u64, u64, u64, u64)]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("systab"),
        format!("ACPI20={OVMF_ACPI20:#x}\nACPI=0x7fb7e000\nSMBIOS=0x7f8f1000\n"),
    )
    .unwrap();
    std::fs::write(dir.join("fw_vendor"), "0x7fbee098\n").unwrap();
    std::fs::write(dir.join("runtime"), "0x7fbeeb98\n").unwrap();
    std::fs::write(dir.join("config_table"), "0x7fbeda18\n").unwrap();
    write_runtime_map(&dir.join("runtime-map"), runtime_map);
}

/// A sysfs tree for `kexec-load --sysfs`: the firmware map, the running
/// kernel's boot parameters, the lockdown state and, for a UEFI boot,
/// firmware/efi. Offsets are zero-page.rst's, written here independently of
/// the tool's constants.
pub struct SysfsFixture {
    pub root: PathBuf,
    pub acpi20: u64,
}

impl SysfsFixture {
    /// A kernel booted by OVMF through the EFI stub, which leaves
    /// `acpi_rsdp_addr` 0.
    pub fn uefi(root: &Path) -> Self {
        let fixture = Self::common(root, OVMF_2G);
        let mut page = vec![0u8; 4096];
        let efi_info: [u32; 8] = [
            u32::from_le_bytes(*b"EL64"),
            0x7fbe_e018, // efi_systab
            48,          // efi_memdesc_size, as OVMF's
            1,           // efi_memdesc_version
            0x7e5a_1018, // efi_memmap
            0x1b60,      // efi_memmap_size
            0,
            0,
        ];
        for (i, word) in efi_info.iter().enumerate() {
            page[0x1c0 + 4 * i..0x1c4 + 4 * i].copy_from_slice(&word.to_le_bytes());
        }
        fixture.write_boot_params(&page);
        write_efi_dir(&root.join("firmware/efi"), OVMF_RUNTIME_MAP);
        fixture
    }

    /// A kernel booted by SeaBIOS, whose decompressor found the RSDP.
    pub fn bios(root: &Path) -> Self {
        let fixture = Self::common(root, QEMU_6G);
        let mut page = vec![0u8; 4096];
        page[0x70..0x78].copy_from_slice(&0xf_5a40u64.to_le_bytes());
        fixture.write_boot_params(&page);
        fixture
    }

    fn common(root: &Path, map: &[(u64, u64, &str)]) -> Self {
        write_map(&root.join("firmware/memmap"), map);
        let fixture = Self {
            root: root.to_owned(),
            acpi20: OVMF_ACPI20,
        };
        fixture.lock("none");
        fixture
    }

    /// Sets the lockdown level (`none`, `integrity`, `confidentiality`).
    pub fn lock(&self, level: &str) {
        let text: Vec<String> = ["none", "integrity", "confidentiality"]
            .iter()
            .map(|l| {
                if *l == level {
                    format!("[{l}]")
                } else {
                    (*l).to_owned()
                }
            })
            .collect();
        let dir = self.root.join("kernel/security");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lockdown"), text.join(" ") + "\n").unwrap();
    }

    /// The boot parameters' bytes.
    pub fn boot_params(&self) -> Vec<u8> {
        std::fs::read(self.root.join("kernel/boot_params/data")).unwrap()
    }

    pub fn write_boot_params(&self, page: &[u8]) {
        let dir = self.root.join("kernel/boot_params");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data"), page).unwrap();
    }

    /// Sets `efi_info.efi_memdesc_version`.
    pub fn set_descriptor_version(&self, version: u32) {
        let mut page = self.boot_params();
        page[0x1cc..0x1d0].copy_from_slice(&version.to_le_bytes());
        self.write_boot_params(&page);
    }

    /// Replaces the firmware map with `count` ranges: 640 KiB of low RAM,
    /// alternating RAM and reserved ranges of 1 MiB from 1 MiB, and 1 GiB of
    /// RAM after them.
    pub fn fragment_memmap(&self, count: usize) {
        let dir = self.root.join("firmware/memmap");
        let _ = std::fs::remove_dir_all(&dir);
        let last = count as u64 - 1;
        let mut map = vec![(0, 0x9_ffff, "System RAM")];
        map.extend((1..last).map(|i| {
            let kind = if i % 2 == 1 { "System RAM" } else { "Reserved" };
            (i << 20, (i << 20) + 0xf_ffff, kind)
        }));
        map.push((last << 20, (last << 20) + (1 << 30) - 1, "System RAM"));
        write_map(&dir, &map);
    }
}

/// Follows a `setup_data` chain from `first` through `bytes`, loaded at
/// `base`: `(address, type, payload)` of each node. Panics on a node outside
/// `bytes` or a chain longer than 64.
pub fn walk_setup_data(bytes: &[u8], base: u64, first: u64) -> Vec<(u64, u32, Vec<u8>)> {
    let mut nodes = Vec::new();
    let mut addr = first;
    while addr != 0 {
        assert!(nodes.len() < 64, "a setup_data loop");
        let at = usize::try_from(addr - base).unwrap();
        let next = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let kind = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
        nodes.push((addr, kind, bytes[at + 16..at + 16 + len].to_vec()));
        addr = next;
    }
    nodes
}
