//! `/proc/vmcore` as a capture kernel shows it (`fs/proc/vmcore.c`): an ELF64
//! core file whose program headers the kernel rewrote from the ones the
//! loader wrote, with every PT_NOTE merged into one right after the headers
//! and each PT_LOAD's `p_offset` now an offset in the file. Only the headers
//! and the notes are read; the dead kernel's memory is read where asked.

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::Elf;
use goblin::elf::note::{NT_PRSTATUS, Note};
use goblin::elf::program_header::{PT_LOAD, PT_NOTE, ProgramHeader};
use scroll::Pread;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// The notes' owner for the CPUs' registers.
const CORE: &str = "CORE";
/// The VMCOREINFO note's owner, and the key of the kernel's release in it.
const VMCOREINFO: &str = "VMCOREINFO";
const OSRELEASE: &str = "OSRELEASE=";
/// More program headers than any dump of a small guest has.
const MAX_PHDRS: usize = 4096;

/// An open dump.
#[derive(Debug)]
pub struct Dump {
    file: File,
    name: String,
    /// The file's size.
    pub size: u64,
    /// How many CPUs' registers were saved (`NT_PRSTATUS` notes).
    pub prstatus: usize,
    /// VMCOREINFO's `OSRELEASE`.
    pub release: Option<String>,
    loads: Vec<ProgramHeader>,
}

impl Dump {
    /// Reads the headers and notes of `name`.
    pub fn open(name: &str) -> Result<Self, String> {
        let file = File::open(name).map_err(|err| format!("cannot open {name}: {err}"))?;
        let size = file
            .metadata()
            .map_err(|err| format!("cannot stat {name}: {err}"))?
            .len();
        let read = |offset: u64, len: usize| read_at(&file, name, offset, len);
        let header = Elf::parse_header(&read(0, 64)?)
            .map_err(|err| format!("{name}: not an ELF file: {err}"))?;
        let count = usize::from(header.e_phnum);
        if count == 0 || count > MAX_PHDRS || header.e_phentsize != 56 {
            return Err(format!(
                "{name}: {count} program headers of {} bytes: not a sane ELF64 core",
                header.e_phentsize
            ));
        }
        let table = read(0, 64 + count * 56)?;
        let ctx = Ctx::new(Container::Big, Endian::Little);
        let phdrs = ProgramHeader::parse(&table, 64, count, ctx)
            .map_err(|err| format!("{name}: bad program headers: {err}"))?;
        let mut dump = Self {
            file,
            name: name.to_owned(),
            size,
            prstatus: 0,
            release: None,
            loads: phdrs
                .iter()
                .filter(|p| p.p_type == PT_LOAD)
                .cloned()
                .collect(),
        };
        for note in phdrs.iter().filter(|p| p.p_type == PT_NOTE) {
            dump.read_notes(note, ctx)?;
        }
        Ok(dump)
    }

    /// Counts the CPU notes and finds the release in one PT_NOTE.
    fn read_notes(&mut self, phdr: &ProgramHeader, ctx: Ctx) -> Result<(), String> {
        let len = usize::try_from(phdr.p_filesz).map_err(|_| "a huge PT_NOTE".to_owned())?;
        let bytes = read_at(&self.file, &self.name, phdr.p_offset, len)?;
        let mut offset = 0;
        while offset < bytes.len() {
            let at = offset;
            let note: Note<'_> = bytes
                .gread_with(&mut offset, (phdr.p_align as usize, ctx))
                .map_err(|err: goblin::error::Error| {
                    format!("{}: a bad note at {at:#x}: {err}", self.name)
                })?;
            if note.name == CORE && note.n_type == NT_PRSTATUS {
                self.prstatus += 1;
            }
            if note.name == VMCOREINFO {
                self.release = String::from_utf8_lossy(note.desc)
                    .lines()
                    .find_map(|line| line.strip_prefix(OSRELEASE).map(str::to_owned));
            }
        }
        Ok(())
    }

    /// The file offset of physical `addr`, and `len` bytes from there.
    pub fn read_physical(&self, addr: u64, len: usize) -> Result<(u64, Vec<u8>), String> {
        let load = self
            .loads
            .iter()
            .find(|p| p.p_paddr <= addr && addr + len as u64 <= p.p_paddr + p.p_filesz)
            .ok_or_else(|| format!("{}: no PT_LOAD covers {addr:#x}", self.name))?;
        let offset = load.p_offset + (addr - load.p_paddr);
        Ok((offset, read_at(&self.file, &self.name, offset, len)?))
    }
}

fn read_at(file: &File, name: &str, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, offset)
        .map(|()| bytes)
        .map_err(|err| format!("{name}: cannot read {len} bytes at {offset:#x}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note, as the kernel writes it: 4-byte aligned name and desc.
    fn note(name: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
        let pad = |len: usize| len.div_ceil(4) * 4;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        bytes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&n_type.to_le_bytes());
        let mut name = name.as_bytes().to_vec();
        name.resize(pad(name.len() + 1), 0);
        bytes.extend_from_slice(&name);
        let mut desc = desc.to_vec();
        desc.resize(pad(desc.len()), 0);
        bytes.extend_from_slice(&desc);
        bytes
    }

    /// A dump with two CPUs' notes, VMCOREINFO and two PT_LOADs, packed from
    /// the ELF64 offsets: RAM at 0x100000 (one page) and 0x200000 (two).
    fn synthetic_vmcore() -> Vec<u8> {
        let notes = [
            note("CORE", 1, &[0xaa; 336]),
            note("CORE", 1, &[0xbb; 336]),
            note(
                "VMCOREINFO",
                0,
                b"OSRELEASE=6.12.117+deb12-amd64\nPAGESIZE=4096\n",
            ),
        ]
        .concat();
        let headers = 64 + 3 * 56;
        let mut bytes = vec![0u8; headers];
        bytes.extend_from_slice(&notes);
        bytes.resize(bytes.len().next_multiple_of(4096), 0);
        let first = bytes.len();
        bytes.resize(first + 3 * 4096, 0);
        bytes[first + 4096 + 0x123..first + 4096 + 0x127].copy_from_slice(b"MARK");
        let mut put = |at: usize, value: &[u8]| bytes[at..at + value.len()].copy_from_slice(value);
        put(0, b"\x7fELF\x02\x01\x01");
        put(16, &4u16.to_le_bytes()); // ET_CORE
        put(18, &62u16.to_le_bytes());
        put(20, &1u32.to_le_bytes());
        put(32, &64u64.to_le_bytes());
        put(52, &64u16.to_le_bytes());
        put(54, &56u16.to_le_bytes());
        put(56, &3u16.to_le_bytes());
        let phdr = |at: usize, kind: u32, offset: u64, paddr: u64, size: u64| {
            let mut p = [0u8; 56];
            p[0..4].copy_from_slice(&kind.to_le_bytes());
            p[8..16].copy_from_slice(&offset.to_le_bytes());
            p[24..32].copy_from_slice(&paddr.to_le_bytes());
            p[32..40].copy_from_slice(&size.to_le_bytes());
            p[40..48].copy_from_slice(&size.to_le_bytes());
            (at, p)
        };
        let first = first as u64;
        for (at, p) in [
            phdr(64, 4, headers as u64, 0, notes.len() as u64),
            phdr(120, 1, first, 0x10_0000, 0x1000),
            phdr(176, 1, first + 0x1000, 0x20_0000, 0x2000),
        ] {
            put(at, &p);
        }
        bytes
    }

    fn written(bytes: &[u8], name: &str) -> String {
        let path = std::env::temp_dir().join(format!("e2e-init-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[test]
    fn notes_and_memory_are_found() {
        let bytes = synthetic_vmcore();
        let path = written(&bytes, "vmcore");
        let dump = Dump::open(&path).unwrap();
        assert_eq!(dump.size, bytes.len() as u64);
        assert_eq!(dump.prstatus, 2);
        assert_eq!(dump.release.as_deref(), Some("6.12.117+deb12-amd64"));
        let (offset, read) = dump.read_physical(0x20_0123, 4).unwrap();
        assert_eq!(read, b"MARK");
        assert_eq!(offset, 0x2000 + 0x123, "the second load starts at 0x2000");
        let err = dump.read_physical(0x30_0000, 4).unwrap_err();
        assert!(err.contains("no PT_LOAD covers 0x300000"), "{err}");
        assert!(
            dump.read_physical(0x20_1ffe, 4).is_err(),
            "runs past the load"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn what_is_not_a_dump_is_named() {
        let path = written(b"nothing like an ELF header at all", "short");
        let err = Dump::open(&path).unwrap_err();
        assert!(err.contains("cannot read 64 bytes at 0x0"), "{err}");
        let mut bytes = synthetic_vmcore();
        bytes[56] = 0; // e_phnum
        let path = written(&bytes, "no-phdrs");
        let err = Dump::open(&path).unwrap_err();
        assert!(err.contains("0 program headers"), "{err}");
        let _ = std::fs::remove_file(&path);
        assert!(
            Dump::open("/nonexistent/vmcore")
                .unwrap_err()
                .contains("cannot open")
        );
    }
}
