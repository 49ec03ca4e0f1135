//! The segments of a Linux kernel started through the 64-bit boot protocol:
//! the protected-mode kernel, the boot parameters (zero page, command line
//! and the hand-over of `boot_data`), the initrd, and the purgatory's
//! hand-off to `startup_64`.

use super::assembly::Assembly;
use super::boot_data::BootData;
use super::error::PlanError;
use crate::bzimage::BzImage;
use crate::handover::Handover;
use crate::layout::{FOUR_GIB, Layout, PAGE_SIZE, PlaceError, Policy};
use crate::zeropage::{self, Addresses, ZERO_PAGE_SIZE};

/// The protected-mode kernel goes at or above 1 MiB (LOADED_HIGH).
const KERNEL_MIN: u64 = 0x10_0000;
/// The boot parameters go low, above the first 64 KiB, where Linux's own
/// loader puts them.
const PARAMS_MIN: u64 = 0x1_0000;

/// Places and builds the kernel's segments in `site`, points the
/// purgatory's registers at the kernel, and returns the plan's header line.
pub fn assemble(
    site: &mut Assembly<'_>,
    image: &BzImage<'_>,
    initrd: Option<Vec<u8>>,
    cmdline: &str,
    host_5level: bool,
    handover: &Handover,
) -> Result<String, PlanError> {
    if host_5level && !image.supports_5level() {
        return Err(PlanError::No5LevelSupport);
    }
    let kernel_addr = place_kernel(site, image)?;
    let kernel = image.kernel().to_vec();
    let kernel_mem = image.init_size.max(kernel.len() as u64);
    site.push("kernel", kernel, kernel_addr, kernel_mem);

    check_cmdline(image, cmdline)?;
    let boot_data = BootData::new(handover, image, site.map, &mut site.notes);
    let params_len = boot_data.segment_len(ZERO_PAGE_SIZE + cmdline.len() + 1) as u64;
    let params_addr = site.layout.place(
        "boot-params",
        params_len,
        PAGE_SIZE,
        Policy::Lowest { min: PARAMS_MIN },
    )?;
    let initrd = initrd
        .map(|bytes| {
            place_initrd(&mut site.layout, image, bytes.len() as u64).map(|addr| (addr, bytes))
        })
        .transpose()?;
    let purgatory_addr = site.purgatory_addr()?;

    let at = Addresses {
        kernel: kernel_addr,
        initrd: initrd
            .as_ref()
            .map(|(addr, bytes)| (*addr, bytes.len() as u64)),
        cmdline: params_addr + ZERO_PAGE_SIZE as u64,
    };
    let mut params = zeropage::build(image, site.map, at);
    params.extend_from_slice(cmdline.as_bytes());
    params.push(0);
    site.boot = Some(boot_data.write(&mut params, params_addr));
    site.push("boot-params", params, params_addr, params_len);
    if let Some((addr, bytes)) = initrd {
        let len = bytes.len() as u64;
        site.push("initrd", bytes, addr, len);
    }
    check_below_4g(site, image)?;
    site.purgatory
        .set_linux_entry(purgatory_addr, kernel_addr, params_addr)?;
    Ok(describe(image))
}

fn check_cmdline(image: &BzImage<'_>, cmdline: &str) -> Result<(), PlanError> {
    if cmdline.as_bytes().contains(&0) {
        return Err(PlanError::CmdlineHasNul);
    }
    if cmdline.len() as u64 > image.cmdline_size {
        return Err(PlanError::CmdlineTooLong {
            len: cmdline.len() as u64,
            max: image.cmdline_size,
        });
    }
    Ok(())
}

/// At the preferred address if it is free RAM, else the lowest aligned fit.
fn place_kernel(site: &mut Assembly<'_>, image: &BzImage<'_>) -> Result<u64, PlanError> {
    let size = image.init_size.max(image.kernel().len() as u64);
    let align = image.kernel_alignment;
    if image.pref_address >= KERNEL_MIN
        && let Ok(addr) =
            site.layout
                .place("kernel", size, align, Policy::Exact(image.pref_address))
    {
        return Ok(addr);
    }
    let addr = site
        .layout
        .place("kernel", size, align, Policy::Lowest { min: KERNEL_MIN })?;
    site.notes.push(format!(
        "the kernel's preferred address {:#x} is not free RAM: placed at {addr:#x}",
        image.pref_address
    ));
    Ok(addr)
}

/// As high as the kernel can reach it.
fn place_initrd(layout: &mut Layout, image: &BzImage<'_>, len: u64) -> Result<u64, PlaceError> {
    let max_end = if image.loadable_above_4g() {
        u64::MAX
    } else {
        image.initrd_addr_max.saturating_add(1).min(FOUR_GIB)
    };
    layout.place("initrd", len, PAGE_SIZE, Policy::Highest { max_end })
}

/// A kernel without XLF_CAN_BE_LOADED_ABOVE_4G must find all of its
/// segments below 4 GiB.
fn check_below_4g(site: &Assembly<'_>, image: &BzImage<'_>) -> Result<(), PlanError> {
    if image.loadable_above_4g() {
        return Ok(());
    }
    match site.segments.iter().find(|s| s.end() > FOUR_GIB) {
        Some(high) => Err(PlanError::Above4G {
            segment: high.name,
            end: high.end(),
        }),
        None => Ok(()),
    }
}

/// The plan's header line.
fn describe(image: &BzImage<'_>) -> String {
    format!(
        "bzImage \"{}\", boot protocol {}.{:02}, protected-mode kernel {:#x} bytes, init_size {:#x}, alignment {:#x}{}",
        image
            .kernel_version
            .as_deref()
            .unwrap_or("(no version string)"),
        image.version >> 8,
        image.version & 0xff,
        image.kernel().len(),
        image.init_size,
        image.kernel_alignment,
        if image.loadable_above_4g() {
            ", loadable above 4 GiB"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memmap::MemoryRange;
    use crate::support::synthetic_bzimage;
    use purgatory_host::Purgatory;

    fn ram(end: u64) -> Vec<MemoryRange> {
        vec![MemoryRange {
            start: 0,
            end,
            e820_type: 1,
            name: "System RAM".into(),
        }]
    }

    /// Assembles `bytes` as a kernel in `map`, the purgatory at the top.
    fn assembled(
        bytes: &[u8],
        initrd: Option<Vec<u8>>,
        host_5level: bool,
        map: &[MemoryRange],
    ) -> Result<Vec<(&'static str, u64)>, PlanError> {
        let image = BzImage::parse(bytes).unwrap();
        let purgatory = Purgatory::embedded().unwrap();
        let policy = Policy::Highest { max_end: u64::MAX };
        let mut site = Assembly::new(map, Layout::new(map), purgatory, policy, Vec::new())?;
        assemble(
            &mut site,
            &image,
            initrd,
            "",
            host_5level,
            &Handover::default(),
        )?;
        Ok(site.segments.iter().map(|s| (s.name, s.end())).collect())
    }

    #[test]
    fn five_level_paging_needs_xlf_5level() {
        let mut bytes = synthetic_bzimage(0x1000);
        let err = assembled(&bytes, None, true, &ram(1 << 30)).unwrap_err();
        assert!(matches!(err, PlanError::No5LevelSupport), "{err}");
        bytes[0x236] |= 1 << 5;
        assert!(assembled(&bytes, None, true, &ram(1 << 30)).is_ok());
    }

    #[test]
    fn kernels_without_above_4g_stay_below() {
        let mut bytes = synthetic_bzimage(0x1000);
        bytes[0x236] &= !2; // no XLF_CAN_BE_LOADED_ABOVE_4G
        bytes[0x22c..0x230].copy_from_slice(&u32::MAX.to_le_bytes()); // initrd_addr_max
        let ends = assembled(&bytes, Some(vec![1; 0x2000]), false, &ram(8 << 30)).unwrap();
        let initrd = ends.iter().find(|(name, _)| *name == "initrd").unwrap();
        assert_eq!(initrd.1, 1 << 32, "highest fit, capped at 4 GiB");
    }

    #[test]
    fn a_segment_above_4g_is_refused_once() {
        let mut bytes = synthetic_bzimage(0x1000);
        bytes[0x236] &= !2; // no XLF_CAN_BE_LOADED_ABOVE_4G
        bytes[0x258..0x260].copy_from_slice(&0x1_0000_0000u64.to_le_bytes()); // pref_address
        // RAM only above 4 GiB (and the low pages the boot parameters take).
        let map = [
            MemoryRange {
                start: 0,
                end: 0x10_0000,
                e820_type: 1,
                name: "System RAM".into(),
            },
            MemoryRange {
                start: 1 << 32,
                end: 8 << 30,
                e820_type: 1,
                name: "System RAM".into(),
            },
        ];
        let err = assembled(&bytes, None, false, &map).unwrap_err();
        assert!(
            matches!(err, PlanError::Above4G { segment: "kernel", end } if end == (1 << 32) + 0x80_0000),
            "{err}"
        );
        assert!(
            err.to_string().contains("XLF_CAN_BE_LOADED_ABOVE_4G"),
            "{err}"
        );
    }
}
