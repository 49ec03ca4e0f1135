//! A model, in Rust, of what the patched Linux accepts and how it reads the
//! file: `kexec_file.purgatory=` (patch 0003, `kexec_purgatory_check_file`),
//! then the fully linked path (patch 0001, `kexec_purgatory_check_linked`,
//! `kexec_purgatory_setup_linked`), then every symbol access of the x86
//! bzImage loader and the generic digest code (upstream
//! `kexec_purgatory_find_symbol`, and the linked branches 0001 adds to
//! `kexec_purgatory_get_set_symbol` and `kexec_purgatory_get_symbol_addr`).
//! Each check quotes the patch's C condition.
//!
//! It is a model, not the kernel: `KernelModel` is the stand-in until the
//! patched kernel's own C code runs behind the same [`Judge`] trait. Not
//! modelled: where `kexec_add_buffer` finds memory (placement), and the
//! relocating `ET_REL` path ([`Verdict::Outside`]).

use std::collections::BTreeMap;

use purgatory_abi::{
    ENTRY64_REGS_SYMBOL, Entry64Regs, SHA_REGIONS_SYMBOL, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL,
    ShaRegions,
};

use crate::verdict::{Judge, Reading, Verdict};

/// The model of the patched kernel.
#[derive(Debug, Clone, Copy)]
pub struct KernelModel;

// ELF constants, as <uapi/linux/elf.h> has them.
const ET_REL: u16 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const STB_GLOBAL: u8 = 1;
const SHN_UNDEF: u16 = 0;
const SIZEOF_EHDR: u64 = 64;
const SIZEOF_PHDR: u64 = 56;
const SIZEOF_SHDR: u64 = 64;
const SIZEOF_SYM: u64 = 24;
const PAGE_SIZE: u64 = 4096;

/// Why the model stops: the kernel refuses, or would read past the file.
enum Stop {
    Refused(String),
    OutOfBounds(String),
}

type Step<T> = Result<T, Stop>;

fn refuse<T>(why: impl Into<String>) -> Step<T> {
    Err(Stop::Refused(why.into()))
}

impl Judge for KernelModel {
    fn name(&self) -> &'static str {
        "kernel (model)"
    }

    fn judge(&self, elf: &[u8]) -> Verdict {
        match judge(elf) {
            Ok(verdict) => verdict,
            Err(Stop::Refused(why)) => Verdict::Refused(why),
            Err(Stop::OutOfBounds(what)) => {
                Verdict::Fault(format!("the kernel would read past the file: {what}"))
            }
        }
    }
}

/// The file as the kernel reads it: native little-endian structs at offsets.
struct File<'a>(&'a [u8]);

impl File<'_> {
    fn bytes<const N: usize>(&self, at: u64, what: &str) -> Step<[u8; N]> {
        usize::try_from(at)
            .ok()
            .and_then(|at| self.0.get(at..at.checked_add(N)?))
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| Stop::OutOfBounds(format!("{what} at {at:#x}")))
    }
    fn u8(&self, at: u64, what: &str) -> Step<u8> {
        Ok(self.bytes::<1>(at, what)?[0])
    }
    fn u16(&self, at: u64, what: &str) -> Step<u16> {
        Ok(u16::from_le_bytes(self.bytes(at, what)?))
    }
    fn u32(&self, at: u64, what: &str) -> Step<u32> {
        Ok(u32::from_le_bytes(self.bytes(at, what)?))
    }
    fn u64(&self, at: u64, what: &str) -> Step<u64> {
        Ok(u64::from_le_bytes(self.bytes(at, what)?))
    }
    fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

/// `Elf64_Shdr` fields the kernel uses.
struct Shdr {
    sh_type: u32,
    sh_offset: u64,
    sh_size: u64,
    sh_link: u32,
}

/// `Elf64_Sym` fields the kernel uses.
struct Sym {
    st_name: u32,
    st_info: u8,
    st_shndx: u16,
    st_value: u64,
    st_size: u64,
}

/// The ELF header fields the kernel uses.
struct Ehdr {
    e_type: u16,
    e_entry: u64,
    e_phoff: u64,
    e_shoff: u64,
    e_phentsize: u16,
    e_phnum: u16,
    e_shentsize: u16,
    e_shnum: u16,
}

/// The one program header of a linked purgatory.
struct Phdr {
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

fn judge(elf: &[u8]) -> Step<Verdict> {
    let file = File(elf);
    let ehdr = check_file(&file)?;
    // kexec_purgatory_is_linked(): `pi->ehdr->e_type != ET_REL`.
    if ehdr.e_type == ET_REL {
        return Ok(Verdict::Outside("ET_REL: the relocating path".into()));
    }
    let phdr = check_linked(&file, &ehdr)?;
    // kexec_purgatory_setup_linked(): bufsz = p_filesz, memsz = p_memsz,
    // buf_align = max(p_align, PAGE_SIZE), start = mem + e_entry.
    let mut symbols = BTreeMap::new();
    // kexec_calculate_store_digests(): sets both, with their sizes.
    let regions = size_of::<ShaRegions>() as u64;
    symbols.insert(
        SHA_REGIONS_SYMBOL,
        get_set_symbol(&file, &ehdr, &phdr, SHA_REGIONS_SYMBOL, regions)?,
    );
    symbols.insert(
        SHA256_DIGEST_SYMBOL,
        get_set_symbol(&file, &ehdr, &phdr, SHA256_DIGEST_SYMBOL, 32)?,
    );
    // bzImage64 setup: reads entry64_regs, sets four registers, writes it back.
    let regs = size_of::<Entry64Regs>() as u64;
    symbols.insert(
        ENTRY64_REGS_SYMBOL,
        get_set_symbol(&file, &ehdr, &phdr, ENTRY64_REGS_SYMBOL, regs)?,
    );
    // bzImage64 setup: regs64.rsp = kexec_purgatory_get_symbol_addr("stack_end").
    symbols.insert(
        STACK_END_SYMBOL,
        get_symbol_addr(&file, &ehdr, &phdr, STACK_END_SYMBOL)?,
    );
    Ok(Verdict::Accepted(Reading {
        entry: ehdr.e_entry,
        file_size: phdr.p_filesz,
        mem_size: phdr.p_memsz,
        align: phdr.p_align.max(PAGE_SIZE),
        symbols,
    }))
}

/// Patch 0003, `kexec_purgatory_check_file()`.
fn check_file(file: &File<'_>) -> Step<Ehdr> {
    let size = file.size();
    // `size < sizeof(*ehdr) || memcmp(ehdr->e_ident, ELFMAG, SELFMAG) ||
    //  ehdr->e_ident[EI_CLASS] != ELF_CLASS || ehdr->e_ident[EI_DATA] != ELF_DATA ||
    //  !elf_check_arch(ehdr)`
    if size < SIZEOF_EHDR
        || file.bytes::<4>(0, "e_ident")? != *b"\x7fELF"
        || file.u8(4, "EI_CLASS")? != 2
        || file.u8(5, "EI_DATA")? != 1
        || file.u16(18, "e_machine")? != EM_X86_64
    {
        return refuse("not an ELF file for this architecture");
    }
    let ehdr = Ehdr {
        e_type: file.u16(16, "e_type")?,
        e_entry: file.u64(24, "e_entry")?,
        e_phoff: file.u64(32, "e_phoff")?,
        e_shoff: file.u64(40, "e_shoff")?,
        e_phentsize: file.u16(54, "e_phentsize")?,
        e_phnum: file.u16(56, "e_phnum")?,
        e_shentsize: file.u16(58, "e_shentsize")?,
        e_shnum: file.u16(60, "e_shnum")?,
    };
    // `ehdr->e_shentsize != sizeof(*sechdrs) || ehdr->e_shoff > size ||
    //  (size - ehdr->e_shoff) / sizeof(*sechdrs) < ehdr->e_shnum`
    if u64::from(ehdr.e_shentsize) != SIZEOF_SHDR
        || ehdr.e_shoff > size
        || (size - ehdr.e_shoff) / SIZEOF_SHDR < u64::from(ehdr.e_shnum)
    {
        return refuse("section header table outside the file");
    }
    for i in 0..ehdr.e_shnum {
        let sh = shdr(file, &ehdr, i)?;
        // `sechdrs[i].sh_type == SHT_NOBITS` → continue;
        // `sechdrs[i].sh_offset > size || sechdrs[i].sh_size > size - sechdrs[i].sh_offset`
        if sh.sh_type != SHT_NOBITS && (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset) {
            return refuse(format!("section {i} is outside the file"));
        }
    }
    for i in 0..ehdr.e_shnum {
        let sh = shdr(file, &ehdr, i)?;
        // `sechdrs[i].sh_type != SHT_SYMTAB || sechdrs[i].sh_link >= ehdr->e_shnum` → continue
        if sh.sh_type != SHT_SYMTAB || sh.sh_link >= u32::from(ehdr.e_shnum) {
            continue;
        }
        let strtab = shdr(file, &ehdr, sh.sh_link as u16)?;
        // `strtab->sh_type != SHT_STRTAB || !strtab->sh_size ||
        //  *((const char *)buf + strtab->sh_offset + strtab->sh_size - 1)`
        if strtab.sh_type != SHT_STRTAB
            || strtab.sh_size == 0
            || file.u8(
                strtab.sh_offset.wrapping_add(strtab.sh_size - 1),
                "the last byte of a string table",
            )? != 0
        {
            return refuse(format!(
                "symbol table {i} is not linked to a NUL-terminated string table"
            ));
        }
        // `for (k = 0; k < sechdrs[i].sh_size / sizeof(*syms); k++)`:
        // `syms[k].st_name >= strtab->sh_size`
        for k in 0..sh.sh_size / SIZEOF_SYM {
            let st_name = file.u32(sh.sh_offset + k * SIZEOF_SYM, "st_name")?;
            if u64::from(st_name) >= strtab.sh_size {
                return refuse(format!(
                    "symbol {k} of table {i} has its name outside the string table"
                ));
            }
        }
    }
    Ok(ehdr)
}

/// Patch 0001, `kexec_purgatory_check_linked()`.
fn check_linked(file: &File<'_>, ehdr: &Ehdr) -> Step<Phdr> {
    let size = file.size();
    // `ehdr->e_type != ET_DYN && ehdr->e_type != ET_EXEC`
    if ehdr.e_type != ET_DYN && ehdr.e_type != ET_EXEC {
        return refuse(format!(
            "ELF type {} is neither ET_REL nor ET_DYN/ET_EXEC",
            ehdr.e_type
        ));
    }
    // `ehdr->e_phnum != 1`
    if ehdr.e_phnum != 1 {
        return refuse(format!("{} program headers", ehdr.e_phnum));
    }
    // `ehdr->e_phentsize != sizeof(*phdr)`
    if u64::from(ehdr.e_phentsize) != SIZEOF_PHDR {
        return refuse(format!("program header entry size {}", ehdr.e_phentsize));
    }
    // `ehdr->e_phoff > size || size - ehdr->e_phoff < sizeof(*phdr)`
    if ehdr.e_phoff > size || size - ehdr.e_phoff < SIZEOF_PHDR {
        return refuse("program header outside the file");
    }
    let at = ehdr.e_phoff;
    // `phdr->p_type != PT_LOAD`
    if file.u32(at, "p_type")? != PT_LOAD {
        return refuse("program header type is not PT_LOAD");
    }
    // `phdr->p_offset != 0 || phdr->p_vaddr != 0`
    if file.u64(at + 8, "p_offset")? != 0 || file.u64(at + 16, "p_vaddr")? != 0 {
        return refuse("PT_LOAD not at file offset 0 and address 0");
    }
    let phdr = Phdr {
        p_filesz: file.u64(at + 32, "p_filesz")?,
        p_memsz: file.u64(at + 40, "p_memsz")?,
        p_align: file.u64(at + 48, "p_align")?,
    };
    // `phdr->p_filesz > phdr->p_memsz || phdr->p_filesz > size`
    if phdr.p_filesz > phdr.p_memsz || phdr.p_filesz > size {
        return refuse("p_filesz exceeds p_memsz or the file size");
    }
    // `phdr->p_align & (phdr->p_align - 1)`
    if phdr.p_align & phdr.p_align.wrapping_sub(1) != 0 {
        return refuse("p_align is not a power of two");
    }
    // `ehdr->e_entry >= phdr->p_filesz`
    if ehdr.e_entry >= phdr.p_filesz {
        return refuse("entry point outside the file-backed part");
    }
    Ok(phdr)
}

fn shdr(file: &File<'_>, ehdr: &Ehdr, index: u16) -> Step<Shdr> {
    let at = ehdr.e_shoff + u64::from(index) * SIZEOF_SHDR;
    Ok(Shdr {
        sh_type: file.u32(at + 4, "sh_type")?,
        sh_offset: file.u64(at + 24, "sh_offset")?,
        sh_size: file.u64(at + 32, "sh_size")?,
        sh_link: file.u32(at + 40, "sh_link")?,
    })
}

/// Upstream `kexec_purgatory_find_symbol()`: the symbol tables in header
/// order, the first `STB_GLOBAL` entry whose name matches; NULL when that
/// entry's `st_shndx` is `SHN_UNDEF` or `>= e_shnum`.
fn find_symbol(file: &File<'_>, ehdr: &Ehdr, name: &str) -> Step<Option<Sym>> {
    for i in 0..ehdr.e_shnum {
        let sh = shdr(file, ehdr, i)?;
        // `sechdrs[i].sh_type != SHT_SYMTAB` → continue;
        // `sechdrs[i].sh_link >= ehdr->e_shnum` → continue
        if sh.sh_type != SHT_SYMTAB || sh.sh_link >= u32::from(ehdr.e_shnum) {
            continue;
        }
        let strtab = shdr(file, ehdr, sh.sh_link as u16)?.sh_offset;
        // `k < sechdrs[i].sh_size / sizeof(Elf_Sym)`
        for k in 0..sh.sh_size / SIZEOF_SYM {
            let at = sh.sh_offset + k * SIZEOF_SYM;
            let sym = Sym {
                st_name: file.u32(at, "st_name")?,
                st_info: file.u8(at + 4, "st_info")?,
                st_shndx: file.u16(at + 6, "st_shndx")?,
                st_value: file.u64(at + 8, "st_value")?,
                st_size: file.u64(at + 16, "st_size")?,
            };
            // `ELF_ST_BIND(syms[k].st_info) != STB_GLOBAL` → continue
            if sym.st_info >> 4 != STB_GLOBAL {
                continue;
            }
            // `strcmp(strtab + syms[k].st_name, name) != 0` → continue
            if !c_str_is(file, strtab + u64::from(sym.st_name), name)? {
                continue;
            }
            // `syms[k].st_shndx == SHN_UNDEF || syms[k].st_shndx >= ehdr->e_shnum`
            if sym.st_shndx == SHN_UNDEF || sym.st_shndx >= ehdr.e_shnum {
                return Ok(None);
            }
            return Ok(Some(sym));
        }
    }
    Ok(None)
}

/// `strcmp(at, name) == 0`, reading the file up to the first NUL.
fn c_str_is(file: &File<'_>, at: u64, name: &str) -> Step<bool> {
    for (i, expected) in name.bytes().chain([0]).enumerate() {
        let byte = file.u8(at + i as u64, "a symbol name")?;
        if byte != expected {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `kexec_purgatory_get_set_symbol(image, name, buf, size, …)` on a linked
/// purgatory: returns the offset and size it patches.
fn get_set_symbol(
    file: &File<'_>,
    ehdr: &Ehdr,
    phdr: &Phdr,
    name: &str,
    size: u64,
) -> Step<(u64, u64)> {
    // `if (!sym) return -EINVAL;`
    let Some(sym) = find_symbol(file, ehdr, name)? else {
        return refuse(format!("no usable symbol {name}"));
    };
    // `sym->st_size != size`
    if sym.st_size != size {
        return refuse(format!("symbol {name} size mismatch"));
    }
    // `sec = (const void *)pi->ehdr + pi->ehdr->e_shoff; sec += sym->st_shndx;`
    // `sec->sh_type == SHT_NOBITS`
    if shdr(file, ehdr, sym.st_shndx)?.sh_type == SHT_NOBITS {
        return refuse(format!("symbol {name} is in a bss section"));
    }
    // `sym->st_value > pi->phdr->p_filesz || size > pi->phdr->p_filesz - sym->st_value`
    if sym.st_value > phdr.p_filesz || size > phdr.p_filesz - sym.st_value {
        return refuse(format!("symbol {name} is outside the file-backed part"));
    }
    Ok((sym.st_value, sym.st_size))
}

/// `kexec_purgatory_get_symbol_addr(image, name)` on a linked purgatory:
/// returns the offset from the load address (and the symbol's size).
fn get_symbol_addr(file: &File<'_>, ehdr: &Ehdr, phdr: &Phdr, name: &str) -> Step<(u64, u64)> {
    // `if (!sym) return ERR_PTR(-EINVAL);`
    let Some(sym) = find_symbol(file, ehdr, name)? else {
        return refuse(format!("no usable symbol {name}"));
    };
    // `sym->st_value > pi->phdr->p_memsz`
    if sym.st_value > phdr.p_memsz {
        return refuse(format!("symbol {name} is outside the purgatory's segment"));
    }
    Ok((sym.st_value, sym.st_size))
}
