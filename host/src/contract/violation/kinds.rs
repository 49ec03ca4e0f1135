//! The findings' types: every breach of the contract the checker can report,
//! with what locates it.

use alloc::string::String;
use alloc::vec::Vec;

/// An instruction the purgatory must not contain, and where it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstructionSite {
    /// The executable section holding it.
    pub section: String,
    /// Its virtual address.
    pub address: u64,
    /// The function symbol whose `[st_value, st_value + st_size)` contains it.
    pub symbol: Option<String>,
    /// Intel syntax, as iced-x86 formats it.
    pub instruction: String,
}

/// Why a contract symbol's `st_shndx` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionProblem {
    /// `SHN_UNDEF`: the loader's lookup fails.
    Undefined,
    /// `SHN_ABS`: `>= e_shnum`, so the loader's lookup fails.
    Absolute,
    /// `SHN_COMMON`: `>= e_shnum`, so the loader's lookup fails.
    Common,
    /// An index past the section header table.
    OutOfRange {
        /// The symbol's `st_shndx`.
        shndx: usize,
        /// `e_shnum`.
        shnum: usize,
    },
    /// `SHT_NOBITS`: the loader refuses to patch it ("is in a bss section").
    Bss {
        /// The section's name.
        section: String,
    },
    /// Code entered by the kernel or a test harness, outside `SHF_EXECINSTR`.
    NotExecutable {
        /// The section's name.
        section: String,
    },
}

/// One breach of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// `EI_CLASS` is not `ELFCLASS64`.
    ElfClass {
        /// The actual `EI_CLASS`.
        class: u8,
    },
    /// `EI_DATA` is not `ELFDATA2LSB`.
    ElfEndianness {
        /// The actual `EI_DATA`.
        data: u8,
    },
    /// `EI_VERSION` is not `EV_CURRENT`.
    ElfVersion {
        /// The actual `EI_VERSION`.
        version: u8,
    },
    /// `e_machine` is not `EM_X86_64`.
    ElfMachine {
        /// The actual `e_machine`.
        machine: u16,
    },
    /// `e_type` is not `ET_DYN`.
    ElfType {
        /// The actual `e_type`.
        e_type: u16,
    },
    /// `e_phnum` is not 1.
    ProgramHeaderCount {
        /// The actual `e_phnum`.
        count: u16,
    },
    /// A program header other than PT_LOAD.
    ProgramHeaderType {
        /// Its index in the program header table.
        index: usize,
        /// Its `p_type`.
        p_type: u32,
    },
    /// The PT_LOAD does not start at file offset 0.
    SegmentOffset {
        /// The actual `p_offset`.
        p_offset: u64,
    },
    /// The PT_LOAD is not linked at address 0.
    SegmentVaddr {
        /// The actual `p_vaddr`.
        p_vaddr: u64,
    },
    /// `p_filesz > p_memsz`.
    SegmentSizes {
        /// `p_filesz`.
        p_filesz: u64,
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// The segment needs more memory than any purgatory does; a loader
    /// would allocate all of it.
    SegmentTooLarge {
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// `p_align` is not a power of two.
    SegmentAlign {
        /// The actual `p_align`.
        p_align: u64,
    },
    /// `[p_offset, p_offset + p_filesz)` is not inside the file.
    SegmentOutsideFile {
        /// `p_offset`.
        p_offset: u64,
        /// `p_filesz`.
        p_filesz: u64,
        /// The file's length.
        file_len: u64,
    },
    /// No section header table (`e_shnum` or `e_shoff` is 0).
    SectionHeaders {
        /// `e_shnum`.
        shnum: u16,
        /// `e_shoff`.
        shoff: u64,
    },
    /// `e_shstrndx` does not name a string table in the file.
    SectionNames {
        /// The actual `e_shstrndx`.
        shstrndx: u16,
    },
    /// A section's file bytes lie past the end of the file.
    SectionOutsideFile {
        /// The section's name.
        section: String,
        /// `sh_offset`.
        offset: u64,
        /// `sh_size`.
        size: u64,
    },
    /// An allocated section whose file offset differs from its address, so
    /// patching at the symbol's file offset would miss.
    SectionAddress {
        /// The section's name.
        section: String,
        /// `sh_offset`.
        offset: u64,
        /// `sh_addr`.
        addr: u64,
    },
    /// A relocation section with content.
    RelocationSection {
        /// The section's name.
        section: String,
        /// Its `sh_type`.
        sh_type: u32,
        /// Its `sh_size`.
        size: u64,
    },
    /// A GOT or PLT section with content.
    GotPlt {
        /// The section's name.
        section: String,
        /// Its `sh_size`.
        size: u64,
    },
    /// A `.dynamic`, `.interp` or `.dynsym` section.
    DynamicLinking {
        /// The section's name.
        section: String,
        /// Its `sh_type`.
        sh_type: u32,
    },
    /// A dynamic tag asking for relocation or a library.
    DynamicTag {
        /// The dynamic section holding it.
        section: String,
        /// `d_tag`.
        tag: u64,
    },
    /// No `SHT_SYMTAB` section.
    MissingSymtab,
    /// More than one `SHT_SYMTAB` (the gABI allows one): Linux and this
    /// checker take a name from the first, goblin from the last.
    SymtabCount {
        /// The symbol tables, in header order.
        sections: Vec<String>,
    },
    /// A symbol table whose `sh_link` is not a string table.
    SymtabLink {
        /// The symbol table's name.
        section: String,
        /// Its `sh_link`.
        link: u32,
    },
    /// A symbol whose `st_name` is past its string table: Linux refuses the file.
    SymbolNameOutsideStrtab {
        /// The symbol table's name.
        section: String,
        /// The entry's index in it.
        index: usize,
        /// Its `st_name`.
        st_name: u64,
    },
    /// A symbol whose `st_shndx` is neither a section of the file nor a
    /// reserved index (`SHN_LORESERVE` and up): Linux refuses the file.
    SymbolSectionIndex {
        /// The symbol table's name.
        section: String,
        /// The entry's index in it.
        index: usize,
        /// Its `st_shndx`.
        shndx: usize,
        /// How many section headers the file has.
        shnum: usize,
    },
    /// A symbol table whose `sh_entsize` is not 24.
    SymtabEntrySize {
        /// The symbol table's name.
        section: String,
        /// Its `sh_entsize`.
        entsize: u64,
    },
    /// A symbol nothing will resolve.
    UndefinedSymbol {
        /// Its name.
        symbol: String,
    },
    /// A symbol of compiler instrumentation or kernel hardening
    /// (`__stack_chk_fail`, retpoline thunks, `__fentry__`, `mcount`, `__asan_*`).
    InstrumentationSymbol {
        /// Its name.
        symbol: String,
    },
    /// `e_entry` is not the value of the entry symbol.
    EntryPoint {
        /// `e_entry`.
        entry: u64,
        /// `st_value` of the entry symbol.
        symbol_value: u64,
    },
    /// `e_entry` is not inside the file-backed part of the segment, where
    /// the loaded code is: Linux refuses it.
    EntryOutsideFile {
        /// `e_entry`.
        entry: u64,
        /// The PT_LOAD's `p_filesz`.
        filesz: u64,
    },
    /// A contract symbol is not inside the section its `st_shndx` names, so
    /// the checks of that section say nothing about where it really is.
    SymbolOutsideSection {
        /// Its name.
        symbol: &'static str,
        /// `st_value`.
        value: u64,
        /// `st_size`.
        size: u64,
        /// The section `st_shndx` names.
        section: String,
    },
    /// `stack_end` past `p_memsz`: the next kernel's RSP would point past
    /// the purgatory's segment. Linux refuses it.
    StackEndOutsideImage {
        /// `st_value` of `stack_end`.
        value: u64,
        /// The PT_LOAD's `p_memsz`.
        memsz: u64,
    },
    /// Two patched symbols share bytes: writing one changes the other.
    PatchedSymbolsOverlap {
        /// The first, in the contract's order.
        first: &'static str,
        /// The second.
        second: &'static str,
        /// The first byte both cover.
        address: u64,
    },
    /// A contract symbol is not in any symbol table.
    MissingSymbol {
        /// Its name.
        symbol: &'static str,
    },
    /// A contract symbol is not `STB_GLOBAL`, so the kernel's lookup skips it.
    SymbolBinding {
        /// Its name.
        symbol: &'static str,
        /// Its actual binding.
        binding: u8,
    },
    /// A contract symbol in a section the loader refuses.
    SymbolSection {
        /// Its name.
        symbol: &'static str,
        /// What is wrong with its section.
        problem: SectionProblem,
    },
    /// A patched symbol with the wrong `st_size`.
    SymbolSize {
        /// Its name.
        symbol: &'static str,
        /// The size the loader insists on.
        expected: u64,
        /// Its `st_size`.
        actual: u64,
    },
    /// A patched symbol not inside `[0, p_filesz)`, so patching would write
    /// past the loaded bytes.
    SymbolOutsideFile {
        /// Its name.
        symbol: &'static str,
        /// `st_value`.
        value: u64,
        /// `st_size`.
        size: u64,
        /// The PT_LOAD's `p_filesz`.
        filesz: u64,
    },
    /// The shipped `entry64_regs` is not all zeros.
    Entry64RegsNotZero {
        /// `st_value` of `entry64_regs`.
        address: u64,
        /// Offset of the first non-zero byte inside it.
        offset: u64,
    },
    /// Not exactly one executable section.
    CodeSections {
        /// The executable sections, in header order.
        sections: Vec<String>,
    },
    /// An instruction touching SSE/AVX/MMX/x87/XSAVE state, which raises #UD
    /// (CR4.OSFXSR = OSXSAVE = 0 at entry).
    SimdInstruction {
        /// Where.
        site: InstructionSite,
        /// The CPUID feature or register that gives it away.
        feature: String,
    },
    /// A branch to (or the address of) SIMD code on a path from the entry
    /// point that does not go through the SSE set-up (a CR4 write).
    SimdBeforeSse {
        /// The branch.
        site: InstructionSite,
        /// What it reaches in the SIMD section.
        target: String,
    },
    /// The entry point is in `.text.simd`: the kernel enters with SSE off.
    EntryInSimd {
        /// `e_entry`.
        entry: u64,
        /// The SIMD section that holds it.
        section: String,
    },
    /// More than one section named `.text.simd`.
    SimdSections {
        /// The sections of that name, in header order.
        sections: Vec<String>,
    },
    /// A direct branch or call to an address outside every executable
    /// section: the whole segment is executable, but only the executable
    /// sections are disassembled and judged.
    BranchOutsideCode {
        /// The branch.
        site: InstructionSite,
        /// Its target.
        target: u64,
    },
    /// `rdfsbase`/`wrfsbase`/`rdgsbase`/`wrgsbase`: #UD with CR4.FSGSBASE = 0.
    FsGsBaseInstruction {
        /// Where.
        site: InstructionSite,
    },
    /// `sti`: the purgatory runs and hands off with interrupts off.
    Sti {
        /// Where.
        site: InstructionSite,
    },
    /// A write to CR3: the purgatory must keep the kexec identity map.
    Cr3Write {
        /// Where.
        site: InstructionSite,
    },
    /// An FS- or GS-relative memory operand (no TLS, no per-CPU data).
    SegmentOverride {
        /// Where.
        site: InstructionSite,
        /// `fs` or `gs`.
        segment: &'static str,
    },
    /// `mov r64, imm64` of a link-time address, wrong at any other base.
    AbsoluteAddress {
        /// Where.
        site: InstructionSite,
        /// The immediate.
        value: u64,
        /// The symbol or section at that address.
        target: String,
    },
    /// Findings of `rule` beyond [`MAX_FINDINGS_PER_RULE`](crate::contract::MAX_FINDINGS_PER_RULE),
    /// not listed.
    MoreFindings {
        /// The rule id of the omitted findings.
        rule: &'static str,
        /// How many were omitted.
        omitted: usize,
    },
}

/// Where a finding is, as far as it can be located.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Section name.
    pub section: Option<String>,
    /// Symbol name: the symbol at fault, or the function containing the instruction.
    pub symbol: Option<String>,
    /// Virtual address (equal to the file offset in a correct image).
    pub address: Option<u64>,
    /// The instruction, in Intel syntax.
    pub instruction: Option<String>,
}
