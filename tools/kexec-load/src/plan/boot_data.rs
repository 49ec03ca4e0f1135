//! The hand-over inside the boot-params segment. After the zero page and the
//! command line come the EFI memory map (16-byte aligned) and the
//! `setup_data` chain (`SETUP_E820_EXT`, `SETUP_EFI`, `SETUP_RNG_SEED`); the
//! zero page points at them (`efi_info`, `hdr.setup_data`) and gets
//! `acpi_rsdp_addr` and `secure_boot`. All of it is one verified segment.

use crate::bzimage::BzImage;
use crate::efi::EfiState;
use crate::handover::{EfiHandover, Handover};
use crate::memmap::MemoryRange;
use crate::report::boot::{BootReport, EfiReport, RsdpReport, SetupDataReport};
use crate::setup_data::{
    SETUP_E820_EXT, SETUP_EFI, SETUP_RNG_SEED, SetupData, append_chain, chain_len,
};
use crate::{boot_params, zeropage};

/// Where the EFI memory map starts after the command line.
const MEMMAP_ALIGN: usize = 16;

/// What the boot-params segment carries besides the zero page and command line.
#[derive(Debug)]
pub struct BootData<'a> {
    handover: &'a Handover,
    /// The EFI state to pass, if it is passed.
    efi: Option<&'a EfiState>,
    efi_withheld: Option<&'static str>,
    e820_entries: usize,
    nodes: Vec<SetupData>,
}

impl<'a> BootData<'a> {
    /// Decides what `image` gets of `handover` and the map, and notes what
    /// it does not get.
    pub fn new(
        handover: &'a Handover,
        image: &BzImage<'_>,
        map: &[MemoryRange],
        notes: &mut Vec<String>,
    ) -> Self {
        let (efi, efi_withheld) = match &handover.efi {
            EfiHandover::Pass(_) if !image.supports_efi_kexec() => {
                let why = "the kernel's xloadflags lack XLF_EFI_KEXEC";
                notes.push(format!(
                    "{why}: it cannot take over EFI runtime services, so it gets a BIOS-style zero page"
                ));
                (None, Some(why))
            }
            EfiHandover::Pass(state) => (Some(&**state), None),
            EfiHandover::Withheld(why) => (None, Some(*why)),
        };
        let mut nodes = Vec::new();
        if let Some(beyond) = map
            .get(zeropage::E820_MAX_ENTRIES..)
            .filter(|r| !r.is_empty())
        {
            nodes.push(SetupData {
                kind: SETUP_E820_EXT,
                payload: beyond.iter().flat_map(zeropage::e820_entry).collect(),
            });
        }
        if let Some(state) = efi {
            nodes.push(SetupData {
                kind: SETUP_EFI,
                payload: state.setup_efi(),
            });
        }
        match handover.rng_seed {
            Some(seed) => nodes.push(SetupData {
                kind: SETUP_RNG_SEED,
                payload: seed.to_vec(),
            }),
            None => notes.push(
                "no SETUP_RNG_SEED: the random pool is not initialized (getrandom would block)"
                    .into(),
            ),
        }
        Self {
            handover,
            efi,
            efi_withheld,
            e820_entries: map.len(),
            nodes,
        }
    }

    /// Where the EFI memory map and then the chain start, after `head`
    /// bytes of zero page, command line and NUL: right there when there is
    /// nothing to append.
    fn tail_start(&self, head: usize) -> usize {
        if self.efi.is_none() && self.nodes.is_empty() {
            head
        } else {
            head.next_multiple_of(MEMMAP_ALIGN)
        }
    }

    /// The segment's bytes for `head` bytes of zero page, command line and NUL.
    pub fn segment_len(&self, head: usize) -> usize {
        self.tail_start(head) + self.efi.map_or(0, EfiState::memmap_len) + chain_len(&self.nodes)
    }

    /// Appends the tail to `params` (the zero page, command line and NUL,
    /// to be loaded at `addr`), points the zero page at it, and reports it.
    pub fn write(&self, params: &mut Vec<u8>, addr: u64) -> BootReport {
        params.resize(self.tail_start(params.len()), 0);
        let efi = self.efi.map(|state| {
            let memmap = addr + params.len() as u64;
            params.extend_from_slice(&state.memmap());
            let info = state.next_efi_info(memmap);
            boot_params::write_efi_info(params, info);
            boot_params::write_secure_boot(params, state.secure_boot);
            efi_report(state, info.memmap, info.memmap_size)
        });
        if let Some(rsdp) = self.handover.acpi_rsdp {
            boot_params::write_acpi_rsdp_addr(params, rsdp.addr);
        }
        let placed = append_chain(params, addr, &self.nodes);
        zeropage::link_setup_data(params, placed.first().map_or(0, |node| node.addr));
        BootReport {
            firmware: self.handover.firmware.name().into(),
            efi,
            efi_withheld: self.efi_withheld.map(str::to_owned),
            acpi_rsdp: self.handover.acpi_rsdp.map(|rsdp| RsdpReport {
                addr: rsdp.addr,
                source: rsdp.source.name().into(),
            }),
            e820_entries: self.e820_entries,
            e820_in_zero_page: self.e820_entries.min(zeropage::E820_MAX_ENTRIES),
            setup_data: placed
                .iter()
                .map(|node| SetupDataReport {
                    kind: SetupData::type_name(node.kind).into(),
                    type_code: node.kind,
                    addr: node.addr,
                    len: node.len,
                })
                .collect(),
        }
    }
}

fn efi_report(state: &EfiState, memmap: u64, memmap_size: u32) -> EfiReport {
    EfiReport {
        loader_signature: state.running.signature_text(),
        systab: state.running.systab,
        memmap,
        memmap_size,
        memdesc_size: state.running.memdesc_size,
        memdesc_version: state.running.memdesc_version,
        descriptors: state.runtime_map.len(),
        fw_vendor: state.tables.fw_vendor,
        runtime: state.tables.runtime,
        config_table: state.tables.config_table,
        smbios: state.tables.smbios,
        secure_boot: state.secure_boot,
    }
}
