//! The setup header of an x86 bzImage (Documentation/arch/x86/boot.rst): the
//! checks that it is a 64-bit relocatable kernel this loader can start through
//! the 64-bit entry, and the fields placement and the zero page need.

use std::fmt;

/// Where the setup header starts, in the file and in the zero page.
pub const SETUP_HEADER_OFFSET: usize = 0x1f1;
const SETUP_SECTS: usize = 0x1f1;
const BOOT_FLAG: usize = 0x1fe;
/// A two-byte short jump; its displacement, at 0x201, says where the header
/// ends: `0x202 + displacement`.
const JUMP: usize = 0x200;
const HEADER_MAGIC: usize = 0x202;
const VERSION: usize = 0x206;
const KERNEL_VERSION: usize = 0x20e;
const LOADFLAGS: usize = 0x211;
const INITRD_ADDR_MAX: usize = 0x22c;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const XLOADFLAGS: usize = 0x236;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;
/// The zero page's next field after the header (`edd_mbr_sig_buffer`): a
/// header claiming to reach past it cannot be copied.
const HEADER_LIMIT: usize = 0x290;

const BOOT_FLAG_VALUE: u16 = 0xaa55;
const HEADER_MAGIC_VALUE: &[u8; 4] = b"HdrS";
/// 2.12 added `xloadflags`, which is how a kernel says it has a 64-bit entry.
pub const MIN_VERSION: u16 = 0x020c;
/// `xloadflags`: the kernel has the 64-bit entry at +0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `xloadflags`: kernel, boot params, command line and initrd may be above 4 GiB.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// `xloadflags`: the kernel can take over EFI runtime services after a kexec
/// (built with EFI and kexec support).
pub const XLF_EFI_KEXEC: u16 = 1 << 4;
/// `xloadflags`: the kernel can be entered with 5-level paging enabled.
pub const XLF_5LEVEL: u16 = 1 << 5;
/// `loadflags`: the protected-mode kernel is loaded at 1 MiB or above.
const LOADED_HIGH: u8 = 1 << 0;
const SECTOR: usize = 512;
const PAGE_SIZE: u32 = 4096;

/// A validated bzImage, borrowed from its file.
#[derive(Debug, Clone)]
pub struct BzImage<'a> {
    bytes: &'a [u8],
    /// Boot protocol version, e.g. 0x020f.
    pub version: u16,
    /// Bytes of the real-mode part that precedes the protected-mode kernel.
    pub setup_size: usize,
    /// End of the setup header, from the jump at 0x200.
    pub header_end: usize,
    /// `xloadflags`.
    pub xloadflags: u16,
    /// Required physical alignment of the protected-mode kernel.
    pub kernel_alignment: u64,
    /// Highest address the initrd may end at (inclusive), unless
    /// [`XLF_CAN_BE_LOADED_ABOVE_4G`].
    pub initrd_addr_max: u64,
    /// Longest command line, without its NUL.
    pub cmdline_size: u64,
    /// The kernel's preferred load address.
    pub pref_address: u64,
    /// Memory the kernel needs from its load address until it has relocated.
    pub init_size: u64,
    /// The version string the header points at, if any.
    pub kernel_version: Option<String>,
}

/// Why a file is not a bzImage this loader can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BzImageError {
    /// Shorter than the setup header.
    TooShort {
        /// File length.
        len: usize,
        /// Bytes needed to read the header.
        needed: usize,
    },
    /// No 0xAA55 at 0x1fe: not a Linux boot image at all.
    BadBootFlag {
        /// What is there.
        found: u16,
    },
    /// No "HdrS" at 0x202: a pre-2.00 image or not a kernel.
    NoHeaderMagic {
        /// What is there.
        found: [u8; 4],
    },
    /// Boot protocol older than 2.12: no `xloadflags`, so no 64-bit entry.
    ProtocolTooOld {
        /// The version found.
        version: u16,
    },
    /// `xloadflags` lacks XLF_KERNEL_64.
    Not64Bit {
        /// The flags found.
        xloadflags: u16,
    },
    /// `relocatable_kernel` is 0.
    NotRelocatable,
    /// `loadflags` lacks LOADED_HIGH: a zImage, loaded at 0x10000.
    NotLoadedHigh,
    /// The jump at 0x200 puts the header's end past what the zero page holds.
    HeaderTooLong {
        /// `0x202 + byte at 0x201`.
        end: usize,
    },
    /// The real-mode part covers the whole file.
    NoProtectedModeKernel {
        /// `(setup_sects + 1) * 512`.
        setup_size: usize,
        /// File length.
        len: usize,
    },
    /// `kernel_alignment` is not a power of two.
    BadAlignment {
        /// The value found.
        alignment: u32,
    },
}

impl fmt::Display for BzImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len, needed } => write!(
                f,
                "the file has {len} bytes, too short for an x86 boot setup header ({needed} bytes)"
            ),
            Self::BadBootFlag { found } => write!(
                f,
                "no boot flag 0xAA55 at offset 0x1fe (found {found:#06x}): not an x86 Linux boot image"
            ),
            Self::NoHeaderMagic { found } => write!(
                f,
                "no \"HdrS\" at offset 0x202 (found {:?}): not a bzImage with a boot protocol header",
                String::from_utf8_lossy(found)
            ),
            Self::ProtocolTooOld { version } => write!(
                f,
                "boot protocol {}.{:02} is older than 2.12, which is needed for the 64-bit entry (xloadflags)",
                version >> 8,
                version & 0xff
            ),
            Self::Not64Bit { xloadflags } => write!(
                f,
                "xloadflags {xloadflags:#06x} lacks XLF_KERNEL_64: the kernel has no 64-bit entry point"
            ),
            Self::NotRelocatable => write!(
                f,
                "relocatable_kernel is 0: this loader only places relocatable kernels"
            ),
            Self::NotLoadedHigh => write!(
                f,
                "loadflags lacks LOADED_HIGH: a zImage (loaded at 0x10000), not a bzImage"
            ),
            Self::HeaderTooLong { end } => write!(
                f,
                "the jump at 0x200 says the setup header ends at {end:#x}, past the zero page's room (0x{HEADER_LIMIT:x})"
            ),
            Self::NoProtectedModeKernel { setup_size, len } => write!(
                f,
                "the real-mode setup ({setup_size:#x} bytes) covers the whole file ({len:#x} bytes): no protected-mode kernel"
            ),
            Self::BadAlignment { alignment } => {
                write!(f, "kernel_alignment {alignment:#x} is not a power of two")
            }
        }
    }
}

impl std::error::Error for BzImageError {}

impl<'a> BzImage<'a> {
    /// Validates `bytes` as a 64-bit relocatable bzImage.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BzImageError> {
        let needed = INIT_SIZE + 4;
        if bytes.len() < needed {
            return Err(BzImageError::TooShort {
                len: bytes.len(),
                needed,
            });
        }
        let u8_at = |at: usize| bytes.get(at).copied().unwrap_or(0);
        let u16_at = |at: usize| u16::from_le_bytes([u8_at(at), u8_at(at + 1)]);
        let u32_at = |at: usize| {
            u32::from_le_bytes([u8_at(at), u8_at(at + 1), u8_at(at + 2), u8_at(at + 3)])
        };
        let u64_at = |at: usize| u64::from(u32_at(at)) | (u64::from(u32_at(at + 4)) << 32);

        let found = u16_at(BOOT_FLAG);
        if found != BOOT_FLAG_VALUE {
            return Err(BzImageError::BadBootFlag { found });
        }
        let magic = [
            u8_at(HEADER_MAGIC),
            u8_at(HEADER_MAGIC + 1),
            u8_at(HEADER_MAGIC + 2),
            u8_at(HEADER_MAGIC + 3),
        ];
        if &magic != HEADER_MAGIC_VALUE {
            return Err(BzImageError::NoHeaderMagic { found: magic });
        }
        let version = u16_at(VERSION);
        if version < MIN_VERSION {
            return Err(BzImageError::ProtocolTooOld { version });
        }
        let xloadflags = u16_at(XLOADFLAGS);
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(BzImageError::Not64Bit { xloadflags });
        }
        if u8_at(RELOCATABLE_KERNEL) == 0 {
            return Err(BzImageError::NotRelocatable);
        }
        if u8_at(LOADFLAGS) & LOADED_HIGH == 0 {
            return Err(BzImageError::NotLoadedHigh);
        }
        let header_end = JUMP + 2 + usize::from(u8_at(JUMP + 1));
        if header_end > HEADER_LIMIT {
            return Err(BzImageError::HeaderTooLong { end: header_end });
        }
        // setup_sects = 0 means 4, for compatibility with ancient images.
        let setup_sects = match u8_at(SETUP_SECTS) {
            0 => 4,
            n => usize::from(n),
        };
        let setup_size = (setup_sects + 1) * SECTOR;
        if setup_size >= bytes.len() {
            return Err(BzImageError::NoProtectedModeKernel {
                setup_size,
                len: bytes.len(),
            });
        }
        let alignment = u32_at(KERNEL_ALIGNMENT);
        if !alignment.is_power_of_two() {
            return Err(BzImageError::BadAlignment { alignment });
        }
        Ok(Self {
            bytes,
            version,
            setup_size,
            header_end,
            xloadflags,
            kernel_alignment: u64::from(alignment.max(PAGE_SIZE)),
            initrd_addr_max: u64::from(u32_at(INITRD_ADDR_MAX)),
            cmdline_size: u64::from(u32_at(CMDLINE_SIZE)),
            pref_address: u64_at(PREF_ADDRESS),
            init_size: u64::from(u32_at(INIT_SIZE)),
            kernel_version: kernel_version(bytes, u16_at(KERNEL_VERSION)),
        })
    }

    /// The setup header, `0x1f1..header_end`, to copy into the zero page.
    pub fn setup_header(&self) -> &'a [u8] {
        self.bytes
            .get(SETUP_HEADER_OFFSET..self.header_end)
            .unwrap_or_default()
    }

    /// The protected-mode kernel: everything after the real-mode setup.
    pub fn kernel(&self) -> &'a [u8] {
        self.bytes.get(self.setup_size..).unwrap_or_default()
    }

    /// Whether kernel, zero page, command line and initrd may lie above 4 GiB.
    pub fn loadable_above_4g(&self) -> bool {
        self.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0
    }

    /// Whether the kernel can be entered with 5-level paging on: kexec keeps
    /// the running kernel's paging mode.
    pub fn supports_5level(&self) -> bool {
        self.xloadflags & XLF_5LEVEL != 0
    }

    /// Whether the kernel can be handed the running kernel's EFI state.
    pub fn supports_efi_kexec(&self) -> bool {
        self.xloadflags & XLF_EFI_KEXEC != 0
    }
}

/// The NUL-terminated string at `0x200 + kernel_version`, if the field is set.
fn kernel_version(bytes: &[u8], field: u16) -> Option<String> {
    if field == 0 {
        return None;
    }
    let start = JUMP + usize::from(field);
    let text = bytes.get(start..)?;
    let text = &text[..text.iter().take(256).position(|&b| b == 0)?];
    Some(String::from_utf8_lossy(text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::synthetic_bzimage;

    #[test]
    fn parses_the_fields() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        assert_eq!(image.version, 0x020f);
        assert_eq!(image.setup_size, 0x800);
        assert_eq!(image.header_end, 0x26c);
        assert_eq!(image.setup_header().len(), 0x26c - 0x1f1);
        assert_eq!(image.kernel().len(), 0x3000);
        assert_eq!(image.kernel_alignment, 0x20_0000);
        assert_eq!(image.pref_address, 0x100_0000);
        assert_eq!(image.init_size, 0x80_0000);
        assert_eq!(image.cmdline_size, 2047);
        assert!(image.loadable_above_4g());
        assert_eq!(image.kernel_version.as_deref(), Some("6.99-test "));
    }

    fn refused(edit: impl FnOnce(&mut Vec<u8>)) -> BzImageError {
        let mut bytes = synthetic_bzimage(0x1000);
        edit(&mut bytes);
        BzImage::parse(&bytes).unwrap_err()
    }

    #[test]
    fn refuses_what_it_cannot_start() {
        assert_eq!(
            BzImage::parse(b"\x7fELF").unwrap_err(),
            BzImageError::TooShort {
                len: 4,
                needed: 0x264
            }
        );
        assert_eq!(
            refused(|b| b[BOOT_FLAG] = 0),
            BzImageError::BadBootFlag { found: 0xaa00 }
        );
        assert!(matches!(
            refused(|b| b[HEADER_MAGIC] = b'X'),
            BzImageError::NoHeaderMagic { .. }
        ));
        assert_eq!(
            refused(|b| b[VERSION] = 0x0b),
            BzImageError::ProtocolTooOld { version: 0x020b }
        );
        assert_eq!(
            refused(|b| b[XLOADFLAGS] = 0x02),
            BzImageError::Not64Bit { xloadflags: 2 }
        );
        assert_eq!(
            refused(|b| b[RELOCATABLE_KERNEL] = 0),
            BzImageError::NotRelocatable
        );
        assert_eq!(refused(|b| b[LOADFLAGS] = 0), BzImageError::NotLoadedHigh);
        assert_eq!(
            refused(|b| b[JUMP + 1] = 0xff),
            BzImageError::HeaderTooLong { end: 0x301 }
        );
        assert_eq!(
            refused(|b| b.truncate(0x800)),
            BzImageError::NoProtectedModeKernel {
                setup_size: 0x800,
                len: 0x800
            }
        );
        assert_eq!(
            refused(|b| b[KERNEL_ALIGNMENT] = 3),
            BzImageError::BadAlignment {
                alignment: 0x20_0003
            }
        );
    }

    #[test]
    fn every_error_names_the_field() {
        let text = refused(|b| b[XLOADFLAGS] = 0).to_string();
        assert!(text.contains("XLF_KERNEL_64"), "{text}");
        let text = refused(|b| b[VERSION] = 0x01).to_string();
        assert!(text.contains("2.01") && text.contains("2.12"), "{text}");
    }
}
