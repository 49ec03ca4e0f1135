//! Just enough ELF reading for the guest programs: that the `/init` and the
//! tool are static (no `PT_INTERP`), and the register probe's single
//! `PT_LOAD` turned into the flat image `kexec-load --raw` loads.

use anyhow::{Context, Result, bail, ensure};

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;

struct ProgramHeader {
    kind: u32,
    offset: u64,
    vaddr: u64,
    file_size: u64,
    mem_size: u64,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn program_headers(elf: &[u8]) -> Result<(u64, Vec<ProgramHeader>)> {
    ensure!(
        elf.get(..5) == Some(b"\x7fELF\x02".as_slice()),
        "not a 64-bit ELF file"
    );
    let parse = || -> Option<(u64, Vec<ProgramHeader>)> {
        let entry = u64_at(elf, 0x18)?;
        let phoff = usize::try_from(u64_at(elf, 0x20)?).ok()?;
        let phentsize = usize::from(u16_at(elf, 0x36)?);
        let phnum = usize::from(u16_at(elf, 0x38)?);
        let headers = (0..phnum)
            .map(|i| {
                let at = phoff + i * phentsize;
                Some(ProgramHeader {
                    kind: u32_at(elf, at)?,
                    offset: u64_at(elf, at + 0x08)?,
                    vaddr: u64_at(elf, at + 0x10)?,
                    file_size: u64_at(elf, at + 0x20)?,
                    mem_size: u64_at(elf, at + 0x28)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some((entry, headers))
    };
    parse().context("truncated ELF headers")
}

/// Fails unless the program needs no dynamic loader: the initramfs holds none.
pub fn ensure_static(elf: &[u8], what: &str) -> Result<()> {
    let (_, headers) = program_headers(elf).with_context(|| what.to_owned())?;
    if headers.iter().any(|h| h.kind == PT_INTERP) {
        bail!("{what} is dynamically linked (it has PT_INTERP); the initramfs has no libraries");
    }
    Ok(())
}

/// The flat image of a one-`PT_LOAD` ELF at offset 0 and vaddr 0: its file
/// bytes, zero-padded to `p_memsz`, and the entry's offset.
pub fn flat_image(elf: &[u8]) -> Result<(Vec<u8>, u64)> {
    let (entry, headers) = program_headers(elf)?;
    let loads: Vec<_> = headers.iter().filter(|h| h.kind == PT_LOAD).collect();
    let [load] = loads[..] else {
        bail!("expected exactly one PT_LOAD, found {}", loads.len());
    };
    ensure!(
        load.offset == 0 && load.vaddr == 0,
        "the PT_LOAD must start at file offset 0 and address 0"
    );
    let file_size = usize::try_from(load.file_size)?;
    let mut image = elf
        .get(..file_size)
        .context("PT_LOAD past the end of the file")?
        .to_vec();
    ensure!(load.mem_size >= load.file_size, "p_memsz < p_filesz");
    image.resize(usize::try_from(load.mem_size)?, 0);
    ensure!(
        entry < load.mem_size,
        "the entry point is outside the PT_LOAD"
    );
    Ok((image, entry))
}
