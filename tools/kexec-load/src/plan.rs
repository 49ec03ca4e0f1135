//! The load plan: every segment with its bytes and place, the purgatory
//! patched for them (regions, digest, entry registers), and the entry point.
//! Building it needs no privilege, so `--dry-run` prints exactly what a real
//! load would hand to the kernel.

use crate::bzimage::BzImage;
use crate::console::Console;
use crate::layout::{Layout, PAGE_SIZE, PlaceError, Policy};
use crate::memmap::MemoryRange;
use crate::zeropage::{self, Addresses, ZERO_PAGE_SIZE, ZeroPageError};
use e2e_protocol::control::{CR0_KNOWN, CR4_KNOWN, LOADER_CR0, loader_cr4};
use e2e_protocol::protocol::LOADER_HASH;
use e2e_protocol::{EXPECTATION_MAGIC, Expectation, distinctive_regs};
use purgatory_abi::{Cpuid, HashPath};
use purgatory_abi::{
    Entry64Regs, FLAG_SOFTWARE_SHA256, FLAGS_SYMBOL, FailurePolicy, SHA256_DIGEST_SYMBOL,
    STACK_END_SYMBOL, Sha256Digest,
};
use purgatory_host::{LoadError, Purgatory, Segment};
use std::fmt;

/// Where the purgatory goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgatoryAddr {
    /// The lowest free RAM (above page 0).
    Low,
    /// The highest free RAM, as Linux's `kexec_file_load` places it.
    High,
    /// The highest free RAM that ends at or below 4 GiB.
    Below4G,
    /// A random page-aligned free address, from the seed.
    Random,
    /// Exactly here.
    At(u64),
}

/// What is being loaded.
#[derive(Debug)]
pub enum Payload<'a> {
    /// A Linux kernel, started through the 64-bit boot protocol.
    BzImage {
        image: BzImage<'a>,
        initrd: Option<Vec<u8>>,
        cmdline: String,
    },
    /// A flat image entered at `load + entry_offset`, with RSI pointing at an
    /// expectation page and every other register distinctive (the register
    /// probe's protocol).
    Raw {
        bytes: &'a [u8],
        entry_offset: u64,
        load_addr: Option<u64>,
    },
}

/// What to plan.
#[derive(Debug)]
pub struct Request<'a> {
    pub payload: Payload<'a>,
    pub purgatory_addr: PurgatoryAddr,
    /// For [`PurgatoryAddr::Random`].
    pub seed: u64,
    /// `false`: an empty region table, the purgatory checks nothing.
    pub verify: bool,
    /// The running kernel uses 5-level paging, which kexec keeps.
    pub host_5level: bool,
    /// `purgatory_flags` (`FLAG_*` of the ABI); 0 as shipped.
    pub purgatory_flags: u64,
    /// The CPU the purgatory will run on: with the flags, it decides the hash path.
    pub cpuid: Cpuid,
    /// Where the purgatory reports its progress and any failure.
    pub console: Console,
    /// What the purgatory does on a mismatch (`FLAG_RESET_ON_FAILURE`).
    pub on_failure: FailurePolicy,
}

/// One `kexec_segment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSegment {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub addr: u64,
    /// Page-aligned, at least `bytes.len()`; the rest is zero-filled.
    pub mem_size: u64,
    /// Listed in the purgatory's region table.
    pub verified: bool,
}

impl PlannedSegment {
    pub fn end(&self) -> u64 {
        self.addr + self.mem_size
    }
}

/// Everything `kexec_load` needs, and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The header line: what is loaded.
    pub what: String,
    pub segments: Vec<PlannedSegment>,
    /// Where the old kernel jumps: `purgatory_start`.
    pub entry: u64,
    /// `entry64_regs` as patched.
    pub regs: Entry64Regs,
    /// `purgatory_sha256_digest` as patched.
    pub digest: Sha256Digest,
    /// How the purgatory's address was chosen.
    pub purgatory_policy: Policy,
    /// How the purgatory will hash, and why.
    pub hash: (HashPath, &'static str),
    /// `purgatory_console_port`, and why.
    pub console: Console,
    pub on_failure: FailurePolicy,
    /// Extra lines for the user.
    pub notes: Vec<String>,
}

/// Why no plan can be made.
#[derive(Debug)]
pub enum PlanError {
    Place(PlaceError),
    Purgatory(LoadError),
    ZeroPage(ZeroPageError),
    CmdlineTooLong {
        len: u64,
        max: u64,
    },
    CmdlineHasNul,
    EntryOutsidePayload {
        offset: u64,
        len: u64,
    },
    EmptyPayload,
    /// The running kernel has 5-level paging on and the image lacks XLF_5LEVEL.
    No5LevelSupport,
    /// A kernel without XLF_CAN_BE_LOADED_ABOVE_4G would get a segment above 4 GiB.
    Above4G {
        segment: &'static str,
        end: u64,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Place(err) => write!(f, "{err}"),
            Self::Purgatory(err) => write!(f, "purgatory: {err}"),
            Self::ZeroPage(err) => write!(f, "{err}"),
            Self::CmdlineTooLong { len, max } => write!(
                f,
                "the command line has {len} bytes, the kernel accepts at most {max} (setup header cmdline_size)"
            ),
            Self::CmdlineHasNul => write!(f, "the command line contains a NUL byte"),
            Self::EntryOutsidePayload { offset, len } => write!(
                f,
                "--entry-offset {offset:#x} is outside the {len:#x}-byte payload"
            ),
            Self::EmptyPayload => write!(f, "the payload is empty"),
            Self::No5LevelSupport => write!(
                f,
                "the running kernel uses 5-level paging, which kexec keeps, and this kernel's xloadflags lack \
                 XLF_5LEVEL: it would crash on entry (boot the old kernel with no5lvl, or load a newer kernel)"
            ),
            Self::Above4G { segment, end } => write!(
                f,
                "the {segment} segment would end at {end:#x}, above 4 GiB, and this kernel lacks \
                 XLF_CAN_BE_LOADED_ABOVE_4G"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

impl From<PlaceError> for PlanError {
    fn from(err: PlaceError) -> Self {
        Self::Place(err)
    }
}

impl From<LoadError> for PlanError {
    fn from(err: LoadError) -> Self {
        Self::Purgatory(err)
    }
}

/// The protected-mode kernel goes at or above 1 MiB (LOADED_HIGH).
const KERNEL_MIN: u64 = 0x10_0000;
/// Small segments (zero page, expectation page) go low, above the first 64
/// KiB, where Linux's own loader puts boot parameters.
const SMALL_MIN: u64 = 0x1_0000;
/// A raw payload goes where kernels usually do: 16 MiB, 2 MiB-aligned.
const RAW_MIN: u64 = 0x100_0000;
const RAW_ALIGN: u64 = 0x20_0000;
const FOUR_GIB: u64 = 1 << 32;

/// Builds the plan for `request` in the RAM of `map`.
pub fn build(request: Request<'_>, map: &[MemoryRange]) -> Result<Plan, PlanError> {
    let mut notes = Vec::new();
    let mut purgatory = Purgatory::embedded()?;
    purgatory.write_symbol(FLAGS_SYMBOL, &request.purgatory_flags.to_le_bytes())?;
    purgatory.set_failure_policy(request.on_failure)?;
    // What the purgatory reads, reset bit included: the probe's expectation
    // page carries it.
    let purgatory_flags = purgatory.flags()?;
    if let Some(port) = request.console.port {
        purgatory.set_console_port(port)?;
    }
    if request.purgatory_flags & FLAG_SOFTWARE_SHA256 != 0 {
        notes.push(
            "purgatory_flags: FLAG_SOFTWARE_SHA256, the portable SHA-256 even with SHA extensions"
                .into(),
        );
    }
    let (purgatory_size, purgatory_align) =
        (purgatory.image().mem_size(), purgatory.image().align());
    let purgatory_policy = match request.purgatory_addr {
        PurgatoryAddr::Low => Policy::Lowest { min: 0 },
        PurgatoryAddr::High => Policy::Highest { max_end: u64::MAX },
        PurgatoryAddr::Below4G => Policy::Highest { max_end: FOUR_GIB },
        PurgatoryAddr::Random => Policy::Random { seed: request.seed },
        PurgatoryAddr::At(addr) => Policy::Exact(addr),
    };
    let mut layout = Layout::new(map);
    // An exact address is the user's: everything else is placed around it.
    let exact = matches!(purgatory_policy, Policy::Exact(_));
    let mut purgatory_addr = if exact {
        Some(layout.place(
            "purgatory",
            purgatory_size,
            purgatory_align,
            purgatory_policy,
        )?)
    } else {
        None
    };
    let mut place_purgatory = |layout: &mut Layout| -> Result<u64, PlanError> {
        match purgatory_addr {
            Some(addr) => Ok(addr),
            None => {
                let addr = layout.place(
                    "purgatory",
                    purgatory_size,
                    purgatory_align,
                    purgatory_policy,
                )?;
                purgatory_addr = Some(addr);
                Ok(addr)
            }
        }
    };

    let (what, mut segments, purgatory_addr) = match request.payload {
        Payload::BzImage {
            image,
            initrd,
            cmdline,
        } => {
            if request.host_5level && !image.supports_5level() {
                return Err(PlanError::No5LevelSupport);
            }
            let what = describe_bzimage(&image);
            let mut segments = Vec::new();
            let kernel_addr = place_kernel(&mut layout, &image, &mut notes)?;
            let kernel = image.kernel().to_vec();
            let kernel_mem = image.init_size.max(kernel.len() as u64);
            segments.push(segment("kernel", kernel, kernel_addr, kernel_mem));

            if cmdline.as_bytes().contains(&0) {
                return Err(PlanError::CmdlineHasNul);
            }
            if cmdline.len() as u64 > image.cmdline_size {
                return Err(PlanError::CmdlineTooLong {
                    len: cmdline.len() as u64,
                    max: image.cmdline_size,
                });
            }
            let params_len = ZERO_PAGE_SIZE as u64 + cmdline.len() as u64 + 1;
            let params_addr = layout.place(
                "boot-params",
                params_len,
                PAGE_SIZE,
                Policy::Lowest { min: SMALL_MIN },
            )?;
            let initrd = match initrd {
                Some(bytes) => {
                    let max_end = if image.loadable_above_4g() {
                        u64::MAX
                    } else {
                        image.initrd_addr_max.saturating_add(1).min(FOUR_GIB)
                    };
                    let addr = layout.place(
                        "initrd",
                        bytes.len() as u64,
                        PAGE_SIZE,
                        Policy::Highest { max_end },
                    )?;
                    Some((addr, bytes))
                }
                None => None,
            };
            let purgatory_addr = place_purgatory(&mut layout)?;

            let at = Addresses {
                kernel: kernel_addr,
                initrd: initrd
                    .as_ref()
                    .map(|(addr, bytes)| (*addr, bytes.len() as u64)),
                cmdline: params_addr + ZERO_PAGE_SIZE as u64,
            };
            let mut params = zeropage::build(&image, map, at).map_err(PlanError::ZeroPage)?;
            params.extend_from_slice(cmdline.as_bytes());
            params.push(0);
            segments.push(segment("boot-params", params, params_addr, params_len));
            if let Some((addr, bytes)) = initrd {
                let len = bytes.len() as u64;
                segments.push(segment("initrd", bytes, addr, len));
            }
            if !image.loadable_above_4g()
                && let Some(high) = segments.iter().find(|s| s.end() > FOUR_GIB)
            {
                return Err(PlanError::Above4G {
                    segment: high.name,
                    end: high.end(),
                });
            }
            if !image.loadable_above_4g()
                && let Some(high) = segments.iter().find(|s| s.end() > FOUR_GIB)
            {
                return Err(PlanError::Above4G {
                    segment: high.name,
                    end: high.end(),
                });
            }
            purgatory.set_linux_entry(purgatory_addr, kernel_addr, params_addr)?;
            (what, segments, purgatory_addr)
        }
        Payload::Raw {
            bytes,
            entry_offset,
            load_addr,
        } => {
            if bytes.is_empty() {
                return Err(PlanError::EmptyPayload);
            }
            if entry_offset >= bytes.len() as u64 {
                return Err(PlanError::EntryOutsidePayload {
                    offset: entry_offset,
                    len: bytes.len() as u64,
                });
            }
            let what = format!(
                "raw payload, {:#x} bytes, entered at offset {entry_offset:#x}; RSI = expectation page, other registers distinctive",
                bytes.len()
            );
            let policy = load_addr.map_or(Policy::Lowest { min: RAW_MIN }, Policy::Exact);
            let align = if load_addr.is_some() {
                PAGE_SIZE
            } else {
                RAW_ALIGN
            };
            let payload_addr = layout.place("payload", bytes.len() as u64, align, policy)?;
            let page_addr = layout.place(
                "expectation",
                PAGE_SIZE,
                PAGE_SIZE,
                Policy::Lowest { min: SMALL_MIN },
            )?;
            let purgatory_addr = place_purgatory(&mut layout)?;

            let stack_end = purgatory
                .image()
                .symbol(STACK_END_SYMBOL)
                .map(|symbol| symbol.offset)
                .ok_or_else(|| LoadError::UnknownSymbol {
                    name: STACK_END_SYMBOL.into(),
                })?;
            let mut regs = distinctive_regs();
            regs.rbx = 0;
            regs.rsi = page_addr;
            regs.rsp = purgatory_addr + stack_end;
            regs.rip = payload_addr + entry_offset;
            purgatory.set_entry_regs(&regs)?;
            let digest_offset = purgatory
                .image()
                .symbol(SHA256_DIGEST_SYMBOL)
                .map(|symbol| symbol.offset)
                .ok_or_else(|| LoadError::UnknownSymbol {
                    name: SHA256_DIGEST_SYMBOL.into(),
                })?;
            let expectation = Expectation {
                magic: EXPECTATION_MAGIC,
                regs: purgatory.entry_regs()?,
                purgatory_start: purgatory_addr,
                purgatory_end: purgatory_addr + purgatory_size,
                cr0: LOADER_CR0,
                cr0_mask: CR0_KNOWN,
                cr4: loader_cr4(request.host_5level),
                cr4_mask: CR4_KNOWN,
                purgatory_flags,
                digest_offset,
            };
            let len = bytes.len() as u64;
            let segments = vec![
                segment("payload", bytes.to_vec(), payload_addr, len),
                segment(
                    "expectation",
                    expectation.to_bytes().to_vec(),
                    page_addr,
                    PAGE_SIZE,
                ),
            ];
            (what, segments, purgatory_addr)
        }
    };

    let verified: Vec<Segment<'_>> = if request.verify {
        segments
            .iter()
            .map(|s| Segment {
                bytes: &s.bytes,
                addr: s.addr,
                mem_size: s.mem_size,
            })
            .collect()
    } else {
        notes.push("--no-verify: the region table is empty, the purgatory checks nothing".into());
        Vec::new()
    };
    let digest = purgatory.set_segments(&verified)?;
    for s in &mut segments {
        s.verified = request.verify;
    }
    let placed = purgatory.place(purgatory_addr)?;
    // p_memsz need not be a whole number of pages; kexec_load wants them.
    let mut purgatory_segment = segment("purgatory", placed.bytes, purgatory_addr, 0);
    purgatory_segment.verified = false;
    segments.push(purgatory_segment);
    Ok(Plan {
        what,
        segments,
        entry: placed.entry,
        regs: purgatory.entry_regs()?,
        digest,
        purgatory_policy,
        hash: hash_path(&request.cpuid, request.purgatory_flags),
        console: request.console,
        on_failure: request.on_failure,
        notes,
    })
}

/// The purgatory's own rule (`purgatory_abi::HashPath`), with the reason.
fn hash_path(cpuid: &Cpuid, purgatory_flags: u64) -> (HashPath, &'static str) {
    let path = HashPath::select(purgatory_flags, cpuid);
    let why = match path {
        HashPath::ShaNi => "the CPU has SHA, SSSE3 and SSE4.1",
        HashPath::Software if purgatory_flags & FLAG_SOFTWARE_SHA256 != 0 => {
            "--software-sha256 (FLAG_SOFTWARE_SHA256)"
        }
        HashPath::Software if !cpuid.sha() => "the CPU lacks the SHA extensions",
        HashPath::Software => "the CPU lacks SSSE3, SSE4.1, FXSR, SSE or SSE2",
    };
    (path, why)
}

fn segment(name: &'static str, bytes: Vec<u8>, addr: u64, mem: u64) -> PlannedSegment {
    let mem_size = mem.max(bytes.len() as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    PlannedSegment {
        name,
        bytes,
        addr,
        mem_size,
        verified: false,
    }
}

/// At the preferred address if it is free RAM, else the lowest aligned fit.
fn place_kernel(
    layout: &mut Layout,
    image: &BzImage<'_>,
    notes: &mut Vec<String>,
) -> Result<u64, PlanError> {
    let size = image.init_size.max(image.kernel().len() as u64);
    let align = image.kernel_alignment;
    if image.pref_address >= KERNEL_MIN
        && let Ok(addr) = layout.place("kernel", size, align, Policy::Exact(image.pref_address))
    {
        return Ok(addr);
    }
    let addr = layout.place("kernel", size, align, Policy::Lowest { min: KERNEL_MIN })?;
    notes.push(format!(
        "the kernel's preferred address {:#x} is not free RAM: placed at {addr:#x}",
        image.pref_address
    ));
    Ok(addr)
}

fn describe_bzimage(image: &BzImage<'_>) -> String {
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

impl Plan {
    /// The purgatory's segment.
    #[cfg(test)]
    pub fn purgatory(&self) -> Option<&PlannedSegment> {
        self.segments.iter().find(|s| s.name == "purgatory")
    }

    /// Flips one byte of a verified segment after the digest was computed
    /// (the test switch): `offset` defaults to the middle of its bytes.
    pub fn corrupt(&mut self, name: &str, offset: Option<u64>) -> Result<String, String> {
        let known: Vec<_> = self.segments.iter().map(|s| s.name).collect();
        // The verified segments are the region table in order: this index is
        // the one the purgatory names on a mismatch.
        let region = self
            .segments
            .iter()
            .filter(|s| s.verified)
            .position(|s| s.name == name);
        let segment = self
            .segments
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                format!(
                    "--corrupt-after-digest: no segment named {name:?} (segments: {})",
                    known.join(", ")
                )
            })?;
        if !segment.verified {
            return Err(format!(
                "--corrupt-after-digest: the {name} segment is not verified by the purgatory, so flipping a byte in it tests nothing"
            ));
        }
        let len = segment.bytes.len() as u64;
        let offset = offset.unwrap_or(len / 2);
        let byte = usize::try_from(offset)
            .ok()
            .and_then(|at| segment.bytes.get_mut(at))
            .ok_or_else(|| format!("--corrupt-after-digest: offset {offset:#x} is outside the {len:#x} bytes of the {name} segment"))?;
        let before = *byte;
        *byte = !before;
        Ok(format!(
            "TEST: flipped the byte at {:#x} (segment {} at {:#x}, {name} + {offset:#x}) from {before:#04x} to {:#04x} after the digest: the purgatory must refuse to start this image",
            segment.addr + offset,
            region.unwrap_or_default(),
            segment.addr,
            !before
        ))
    }

    /// Prints the plan: one row per segment, the digest, the entry state.
    pub fn print(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(out, "kexec-load: {}", self.what)?;
        writeln!(
            out,
            "  #  segment      start               end                 memsz       bytes       verified"
        )?;
        for (index, s) in self.segments.iter().enumerate() {
            writeln!(
                out,
                "  {index}  {:<11}  {:#018x}  {:#018x}  {:#010x}  {:#010x}  {}",
                s.name,
                s.addr,
                s.end(),
                s.mem_size,
                s.bytes.len(),
                if s.verified {
                    "yes"
                } else if s.name == "purgatory" {
                    "no (holds the digest)"
                } else {
                    "no"
                }
            )?;
        }
        let regions: Vec<_> = self.segments.iter().filter(|s| s.verified).collect();
        let covered: u64 = regions.iter().map(|s| s.mem_size).sum();
        writeln!(
            out,
            "  digest       sha256 {} over {} region(s), {covered:#x} bytes",
            hex(&self.digest),
            regions.len()
        )?;
        writeln!(out, "  purgatory    {} ", self.purgatory_policy)?;
        writeln!(
            out,
            "{LOADER_HASH:<15}{}: {}",
            self.hash.0.name(),
            self.hash.1
        )?;
        writeln!(out, "  console      {}", self.console)?;
        writeln!(
            out,
            "  on-failure   {}",
            match self.on_failure {
                FailurePolicy::Halt => "halt (cli; hlt, as Linux)",
                FailurePolicy::Reset => "reset (port 0xcf9, else a triple fault)",
            }
        )?;
        writeln!(out, "  entry        {:#x} (purgatory_start)", self.entry)?;
        let r = &self.regs;
        writeln!(
            out,
            "  hand-off     rip={:#x} rsi={:#x} rsp={:#x} rbx={:#x}",
            r.rip, r.rsi, r.rsp, r.rbx
        )?;
        if self.regs.rax != 0 {
            writeln!(
                out,
                "               rax={:#x} rcx={:#x} rdx={:#x} rbp={:#x} rdi={:#x} r8..r15={:#x}..{:#x}",
                r.rax, r.rcx, r.rdx, r.rbp, r.rdi, r.r8, r.r15
            )?;
        }
        for note in &self.notes {
            writeln!(out, "  note         {note}")?;
        }
        Ok(())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::tests::synthetic_bzimage;
    use crate::memmap::tests::QEMU_6G;
    use purgatory_host::PURGATORY_ELF;

    /// The digest the host library computes for `segments`.
    fn digest_of(segments: &[Segment<'_>]) -> Sha256Digest {
        Purgatory::embedded()
            .unwrap()
            .set_segments(segments)
            .unwrap()
    }

    fn map() -> Vec<MemoryRange> {
        QEMU_6G
            .iter()
            .map(|&(start, last, name)| MemoryRange {
                start,
                end: last + 1,
                e820_type: if name == "System RAM" { 1 } else { 2 },
                name: name.into(),
            })
            .collect()
    }

    fn bz_request<'a>(
        image: BzImage<'a>,
        initrd: Option<Vec<u8>>,
        at: PurgatoryAddr,
    ) -> Request<'a> {
        Request {
            payload: Payload::BzImage {
                image,
                initrd,
                cmdline: "console=ttyS0 e2e.marker=x".into(),
            },
            purgatory_addr: at,
            seed: 7,
            verify: true,
            host_5level: false,
            purgatory_flags: 0,
            cpuid: Cpuid::default(),
            console: Console::off("test"),
            on_failure: FailurePolicy::Halt,
        }
    }

    #[test]
    fn bzimage_plan() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let plan = build(
            bz_request(image, Some(vec![0x5a; 0x1_2345]), PurgatoryAddr::High),
            &map(),
        )
        .unwrap();
        let names: Vec<_> = plan.segments.iter().map(|s| s.name).collect();
        assert_eq!(names, ["kernel", "boot-params", "initrd", "purgatory"]);
        let [kernel, params, initrd, purgatory] = &plan.segments[..] else {
            unreachable!()
        };
        assert_eq!(
            (kernel.addr, kernel.mem_size, kernel.bytes.len()),
            (0x100_0000, 0x80_0000, 0x3000)
        );
        assert_eq!(params.addr, 0x1_0000);
        assert_eq!(&params.bytes[0x1000..], b"console=ttyS0 e2e.marker=x\0");
        assert_eq!(initrd.end(), 0x1_c000_0000, "highest, above 4 GiB");
        assert_eq!(initrd.mem_size, 0x1_3000);
        assert_eq!(
            purgatory.end(),
            initrd.addr,
            "the purgatory takes the next highest fit"
        );
        assert!(kernel.verified && params.verified && initrd.verified && !purgatory.verified);
        assert_eq!(
            plan.entry,
            purgatory.addr + Purgatory::embedded().unwrap().image().entry()
        );
        assert_eq!(plan.regs.rip, 0x100_0200);
        assert_eq!(plan.regs.rsi, 0x1_0000);
        assert_eq!(plan.regs.rbx, 0);
        let segs: Vec<_> = plan.segments[..3]
            .iter()
            .map(|s| Segment {
                bytes: &s.bytes,
                addr: s.addr,
                mem_size: s.mem_size,
            })
            .collect();
        assert_eq!(plan.digest, digest_of(&segs));
        // The zero page's initrd pointer carries the high half.
        assert_eq!(
            u32::from_le_bytes(params.bytes[0x218..0x21c].try_into().unwrap()),
            initrd.addr as u32
        );
        assert_eq!(
            u32::from_le_bytes(params.bytes[0xc0..0xc4].try_into().unwrap()),
            1
        );
        // The patched purgatory holds the digest.
        let elf = Purgatory::parse(PURGATORY_ELF).unwrap();
        let digest_at = elf
            .image()
            .symbol(purgatory_abi::SHA256_DIGEST_SYMBOL)
            .unwrap()
            .offset as usize;
        assert_eq!(&purgatory.bytes[digest_at..digest_at + 32], &plan.digest);
    }

    #[test]
    fn purgatory_policies() {
        let bytes = synthetic_bzimage(0x3000);
        let addr = |at| {
            let image = BzImage::parse(&bytes).unwrap();
            build(bz_request(image, None, at), &map())
                .unwrap()
                .purgatory()
                .unwrap()
                .addr
        };
        assert_eq!(addr(PurgatoryAddr::Low), 0x1000);
        let below = addr(PurgatoryAddr::Below4G);
        assert!(below > 0xb000_0000 && below < 1 << 32, "{below:#x}");
        assert!(addr(PurgatoryAddr::High) > 1 << 32);
        assert_eq!(addr(PurgatoryAddr::At(0x4000_0000)), 0x4000_0000);
        let random = addr(PurgatoryAddr::Random);
        assert_eq!(random % 0x1000, 0);
        assert_eq!(
            addr(PurgatoryAddr::Random),
            random,
            "same seed, same address"
        );
    }

    #[test]
    fn exact_purgatory_wins_and_kernel_moves() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let plan = build(
            bz_request(image, None, PurgatoryAddr::At(0x100_0000)),
            &map(),
        )
        .unwrap();
        assert_eq!(plan.purgatory().unwrap().addr, 0x100_0000);
        assert_eq!(
            plan.segments[0].addr, 0x20_0000,
            "the lowest 2 MiB-aligned fit"
        );
        assert!(plan.notes.iter().any(|n| n.contains("preferred address")));
    }

    #[test]
    fn software_sha256_sets_the_flag() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let mut request = bz_request(image, None, PurgatoryAddr::High);
        request.purgatory_flags = FLAG_SOFTWARE_SHA256;
        let plan = build(request, &map()).unwrap();
        let at = Purgatory::embedded()
            .unwrap()
            .image()
            .symbol(FLAGS_SYMBOL)
            .unwrap()
            .offset as usize;
        let purgatory = plan.purgatory().unwrap();
        assert_eq!(
            purgatory.bytes[at..at + 8],
            FLAG_SOFTWARE_SHA256.to_le_bytes()
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("FLAG_SOFTWARE_SHA256"))
        );
        assert_eq!(plan.hash.0, HashPath::Software);
    }

    #[test]
    fn the_plan_announces_the_hash_path() {
        let sha_cpu = Cpuid {
            max_leaf: 7,
            leaf1_ecx: 1 << 9 | 1 << 19,
            leaf1_edx: 7 << 24,
            leaf7_ebx: 1 << 29,
        };
        assert_eq!(hash_path(&sha_cpu, 0).0, HashPath::ShaNi);
        assert!(
            hash_path(&sha_cpu, FLAG_SOFTWARE_SHA256)
                .1
                .contains("--software-sha256")
        );
        let no_sha = Cpuid {
            leaf7_ebx: 0,
            ..sha_cpu
        };
        assert!(hash_path(&no_sha, 0).1.contains("lacks the SHA"));
        let bytes = synthetic_bzimage(0x3000);
        let mut request = bz_request(BzImage::parse(&bytes).unwrap(), None, PurgatoryAddr::High);
        request.cpuid = sha_cpu;
        let mut text = Vec::new();
        build(request, &map()).unwrap().print(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.lines()
                .any(|l| l == "  hash         sha-ni: the CPU has SHA, SSSE3 and SSE4.1"),
            "{text}"
        );
    }

    #[test]
    fn console_and_reset_are_patched_and_printed() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let mut request = bz_request(image, None, PurgatoryAddr::High);
        request.console = crate::console::given(0x2f8);
        request.on_failure = FailurePolicy::Reset;
        let mut plan = build(request, &map()).unwrap();
        let image = Purgatory::embedded().unwrap();
        let at = |name| image.image().symbol(name).unwrap().offset as usize;
        let purgatory = plan.purgatory().unwrap();
        let port_at = at(purgatory_abi::CONSOLE_PORT_SYMBOL);
        assert_eq!(
            purgatory.bytes[port_at..port_at + 2],
            0x2f8u16.to_le_bytes()
        );
        let flags_at = at(FLAGS_SYMBOL);
        assert_eq!(
            purgatory.bytes[flags_at..flags_at + 8],
            purgatory_abi::FLAG_RESET_ON_FAILURE.to_le_bytes()
        );
        let mut text = Vec::new();
        plan.print(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("  console      16550 at 0x2f8, 115200 8N1 (ttyS1, --console)"),
            "{text}"
        );
        assert!(text.contains("  on-failure   reset"), "{text}");
        let note = plan.corrupt("boot-params", Some(0)).unwrap();
        assert!(
            note.contains("(segment 1 at 0x10000, boot-params + 0x0)"),
            "{note}"
        );
    }

    #[test]
    fn no_verify_leaves_the_table_empty() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let mut request = bz_request(image, None, PurgatoryAddr::High);
        request.verify = false;
        let mut plan = build(request, &map()).unwrap();
        assert!(plan.segments.iter().all(|s| !s.verified));
        assert_eq!(plan.digest, digest_of(&[]));
        assert!(
            plan.corrupt("kernel", None)
                .unwrap_err()
                .contains("not verified")
        );
    }

    #[test]
    fn raw_payload_gets_the_probe_protocol() {
        let payload = vec![0xccu8; 0x2100];
        let request = Request {
            payload: Payload::Raw {
                bytes: &payload,
                entry_offset: 0x120,
                load_addr: None,
            },
            purgatory_addr: PurgatoryAddr::Below4G,
            seed: 0,
            verify: true,
            host_5level: true,
            purgatory_flags: FLAG_SOFTWARE_SHA256,
            cpuid: Cpuid::default(),
            console: Console::off("test"),
            on_failure: FailurePolicy::Halt,
        };
        let plan = build(request, &map()).unwrap();
        let [payload_seg, page, purgatory] = &plan.segments[..] else {
            unreachable!()
        };
        assert_eq!(
            (payload_seg.addr, payload_seg.mem_size),
            (0x100_0000, 0x3000)
        );
        assert_eq!(plan.regs.rip, 0x100_0120);
        assert_eq!(plan.regs.rsi, page.addr);
        assert_eq!(plan.regs.rbx, 0);
        assert_eq!(plan.regs.rax, distinctive_regs().rax);
        let stack_end = Purgatory::embedded()
            .unwrap()
            .image()
            .symbol(STACK_END_SYMBOL)
            .unwrap()
            .offset;
        assert_eq!(plan.regs.rsp, purgatory.addr + stack_end);
        let expected = Expectation {
            magic: EXPECTATION_MAGIC,
            regs: plan.regs,
            purgatory_start: purgatory.addr,
            purgatory_end: purgatory.addr + Purgatory::embedded().unwrap().image().mem_size(),
            cr0: LOADER_CR0,
            cr0_mask: CR0_KNOWN,
            cr4: loader_cr4(true),
            cr4_mask: CR4_KNOWN,
            purgatory_flags: FLAG_SOFTWARE_SHA256,
            digest_offset: Purgatory::embedded()
                .unwrap()
                .image()
                .symbol(SHA256_DIGEST_SYMBOL)
                .unwrap()
                .offset,
        };
        assert_eq!(&page.bytes[..], &expected.to_bytes()[..]);
    }

    #[test]
    fn corrupt_flips_one_byte() {
        let payload = vec![0x11u8; 0x2000];
        let request = Request {
            payload: Payload::Raw {
                bytes: &payload,
                entry_offset: 0,
                load_addr: Some(0x200_0000),
            },
            purgatory_addr: PurgatoryAddr::Low,
            seed: 0,
            verify: true,
            host_5level: false,
            purgatory_flags: 0,
            cpuid: Cpuid::default(),
            console: Console::off("test"),
            on_failure: FailurePolicy::Halt,
        };
        let mut plan = build(request, &map()).unwrap();
        let before = plan.clone();
        let note = plan.corrupt("payload", Some(0x10)).unwrap();
        assert!(note.contains("0x2000010"), "{note}");
        let changed: Vec<_> = plan.segments[0]
            .bytes
            .iter()
            .zip(&before.segments[0].bytes)
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(changed, [(&0xee, &0x11)]);
        assert_eq!(plan.digest, before.digest);
        assert!(
            plan.corrupt("purgatory", None)
                .unwrap_err()
                .contains("not verified")
        );
        assert!(
            plan.corrupt("nope", None)
                .unwrap_err()
                .contains("payload, expectation, purgatory")
        );
        assert!(
            plan.corrupt("payload", Some(0x2000))
                .unwrap_err()
                .contains("outside")
        );
    }

    #[test]
    fn bad_requests() {
        let bytes = synthetic_bzimage(0x3000);
        let image = BzImage::parse(&bytes).unwrap();
        let mut request = bz_request(image, None, PurgatoryAddr::High);
        if let Payload::BzImage { cmdline, .. } = &mut request.payload {
            *cmdline = "x".repeat(2048);
        }
        assert!(matches!(
            build(request, &map()),
            Err(PlanError::CmdlineTooLong {
                len: 2048,
                max: 2047
            })
        ));
        let payload = [0u8; 16];
        let request = Request {
            payload: Payload::Raw {
                bytes: &payload,
                entry_offset: 16,
                load_addr: None,
            },
            purgatory_addr: PurgatoryAddr::High,
            seed: 0,
            verify: true,
            host_5level: false,
            purgatory_flags: 0,
            cpuid: Cpuid::default(),
            console: Console::off("test"),
            on_failure: FailurePolicy::Halt,
        };
        assert!(
            build(request, &map())
                .unwrap_err()
                .to_string()
                .contains("outside the 0x10-byte payload")
        );
    }
}

#[cfg(test)]
mod paging_and_4g_tests {
    use super::*;
    use crate::bzimage::tests::synthetic_bzimage;

    fn ram(end: u64) -> Vec<MemoryRange> {
        vec![MemoryRange {
            start: 0,
            end,
            e820_type: 1,
            name: "System RAM".into(),
        }]
    }

    fn request(image: BzImage<'_>, initrd: Option<Vec<u8>>, host_5level: bool) -> Request<'_> {
        Request {
            payload: Payload::BzImage {
                image,
                initrd,
                cmdline: String::new(),
            },
            purgatory_addr: PurgatoryAddr::High,
            seed: 0,
            verify: true,
            host_5level,
            purgatory_flags: 0,
            cpuid: Cpuid::default(),
            console: Console::off("test"),
            on_failure: FailurePolicy::Halt,
        }
    }

    #[test]
    fn five_level_paging_needs_xlf_5level() {
        let mut bytes = synthetic_bzimage(0x1000);
        let image = BzImage::parse(&bytes).unwrap();
        let err = build(request(image, None, true), &ram(1 << 30)).unwrap_err();
        assert!(matches!(err, PlanError::No5LevelSupport), "{err}");
        bytes[0x236] |= 1 << 5;
        let image = BzImage::parse(&bytes).unwrap();
        assert!(build(request(image, None, true), &ram(1 << 30)).is_ok());
    }

    #[test]
    fn kernels_without_above_4g_stay_below() {
        let mut bytes = synthetic_bzimage(0x1000);
        bytes[0x236] &= !2; // no XLF_CAN_BE_LOADED_ABOVE_4G
        bytes[0x22c..0x230].copy_from_slice(&u32::MAX.to_le_bytes()); // initrd_addr_max
        let image = BzImage::parse(&bytes).unwrap();
        let plan = build(request(image, Some(vec![1; 0x2000]), false), &ram(8 << 30)).unwrap();
        let initrd = plan.segments.iter().find(|s| s.name == "initrd").unwrap();
        assert_eq!(initrd.end(), 1 << 32, "highest fit, capped at 4 GiB");
    }
}
