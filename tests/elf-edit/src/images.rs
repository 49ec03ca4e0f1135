//! Whole-image edits and readings the tests and the e2e suite share: a bare
//! header, the two broken purgatories the patched kernel must refuse, and
//! what the guest programs need (static, or one flat `PT_LOAD`).

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::program_header::{PT_GNU_STACK, PT_INTERP, PT_LOAD};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use scroll::{LE, Pwrite};

use crate::elf::Elf;
use crate::error::{Error, Result};
use crate::field::ST_SIZE;

/// The largest flat image [`flat_image`] makes: it is built in memory, and a
/// garbage `p_memsz` must be an error, not gigabytes of zeros. A test payload
/// is a few pages.
pub const MAX_FLAT_IMAGE: u64 = 64 << 20;

/// An ELF64 little-endian header of type `e_type` for `e_machine`, as goblin
/// makes a new one (`EV_CURRENT`, the ELF64 entry sizes), and no tables.
pub fn header_only(e_type: u16, e_machine: u16) -> Vec<u8> {
    let mut header: Header =
        goblin::elf::header::Header::new(Ctx::new(Container::Big, Endian::Little)).into();
    header.e_type = e_type;
    header.e_machine = e_machine;
    let mut bytes = vec![0; SIZEOF_EHDR];
    bytes
        .pwrite_with(header, 0, LE)
        .expect("an ELF64 little-endian header fills its 64 bytes");
    bytes
}

/// The image with a second program header after its only one: a copy made a
/// `PT_GNU_STACK`, what a default `-pie` link adds. The new table goes at the
/// end of the file, so that no byte a loader maps changes.
pub fn two_program_headers(elf: &[u8]) -> Result<Vec<u8>> {
    let mut image = Elf::parse(elf)?;
    let found = image.program_headers()?.len();
    if found != 1 {
        return Err(Error::ProgramHeaderCount { expected: 1, found });
    }
    image.duplicate_program_header(0, PT_GNU_STACK)?;
    Ok(image.into_bytes())
}

/// The image with `st_size` of the `.symtab` entry `symbol` set to `size`.
pub fn with_symbol_size(elf: &[u8], symbol: &str, size: u64) -> Result<Vec<u8>> {
    let mut image = Elf::parse(elf)?;
    image.set_symbol(symbol, ST_SIZE, size)?;
    Ok(image.into_bytes())
}

/// Err when the program needs a dynamic loader (it has a `PT_INTERP`).
pub fn ensure_static(elf: &[u8]) -> Result<()> {
    let headers = Elf::parse(elf)?.program_headers()?;
    match headers.iter().position(|h| h.p_type == PT_INTERP) {
        Some(index) => Err(Error::DynamicallyLinked { index }),
        None => Ok(()),
    }
}

/// The flat image of an ELF with one `PT_LOAD` at file offset 0 and address
/// 0: its file bytes, zero-padded to `p_memsz`, and the entry's offset in it.
pub fn flat_image(elf: &[u8]) -> Result<(Vec<u8>, u64)> {
    let image = Elf::parse(elf)?;
    let loads: Vec<_> = image
        .program_headers()?
        .into_iter()
        .filter(|h| h.p_type == PT_LOAD)
        .collect();
    let [load] = loads[..] else {
        return Err(Error::LoadCount { found: loads.len() });
    };
    if load.p_offset != 0 || load.p_vaddr != 0 {
        return Err(Error::LoadNotAtZero {
            p_offset: load.p_offset,
            p_vaddr: load.p_vaddr,
        });
    }
    if load.p_memsz > MAX_FLAT_IMAGE {
        return Err(Error::TooLarge {
            p_memsz: load.p_memsz,
            limit: MAX_FLAT_IMAGE,
        });
    }
    if load.p_filesz > load.p_memsz {
        return Err(Error::FileLargerThanMemory {
            p_filesz: load.p_filesz,
            p_memsz: load.p_memsz,
        });
    }
    let entry = image.header()?.e_entry;
    if entry >= load.p_memsz {
        return Err(Error::EntryOutsideLoad {
            entry,
            p_memsz: load.p_memsz,
        });
    }
    let file_len = elf.len() as u64;
    let mut bytes = usize::try_from(load.p_filesz)
        .ok()
        .and_then(|filesz| elf.get(..filesz))
        .ok_or(Error::OutsideFile {
            what: "the PT_LOAD".to_owned(),
            offset: 0,
            size: load.p_filesz,
            file_len,
        })?
        .to_vec();
    bytes.resize(load.p_memsz as usize, 0);
    Ok((bytes, entry))
}
