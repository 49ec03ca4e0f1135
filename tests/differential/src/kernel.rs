//! The patched kernel as a judge: its own C, compiled for user space.
//!
//! `build.rs` compiles the purgatory part of the patched tree's
//! `kernel/kexec_file.c` (upstream's `kexec_purgatory_find_symbol`,
//! `kexec_load_purgatory`, `kexec_purgatory_get_set_symbol`,
//! `kexec_purgatory_get_symbol_addr`, and the series' `check_phdr`,
//! `check_symtab`, `check_sections`, `setup_linked`, `check_file` and
//! `read_test_file`) against a shim of the kernel API, with a harness
//! (`kernel-judge/judge.c`) that makes the calls the x86 bzImage loader and
//! the digest code make. A file is judged as `kexec_file.purgatory=` would
//! have the kernel read it. Not judged: where `kexec_add_buffer` finds
//! memory (the shim places every segment at the lowest address above
//! 16 MiB its alignment allows).

use std::ffi::{CStr, c_int};
use std::fmt;
use std::io::Write as _;
use std::sync::Once;

use crate::verdict::{Judge, KERNEL_SYMBOLS, Reading, Verdict};

/// The patched kernel's acceptance code. [`Kernel::built`] has one when the
/// build was given a tree.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    _built: (),
}

/// Every `pr_err` of the compiled code: its line in `kernel/kexec_file.c`,
/// the function it is in, and its format.
pub const KERNEL_MESSAGES: &[(u32, &str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/refusals.rs"));

/// The tree the judge was compiled from, empty when none was named.
pub const KERNEL_TREE: &str = env!("KJUDGE_TREE");

/// Why there is no kernel judge.
#[derive(Debug, Clone, Copy)]
pub struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "purgatory-differential was built without a patched kernel tree: \
             run `cargo xtask kernel`, then build with \
             PURGATORY_KERNEL_SRC=target/kernel/src (`cargo xtask test` does both)",
        )
    }
}

/// What the kernel did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded, every symbol access done: read this way.
    Accepted(Reading),
    /// Refused with `error` (a negative errno).
    Refused(Refusal),
    /// Its code faulted (a read or write past a buffer), or contradicted
    /// itself.
    Faulted(String),
}

/// A refusal: the kernel's last message before it, and where that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: i32,
    /// The `kexec_file.c` line of the message; 0 when the refusal had none
    /// (a symbol that is not found is refused silently).
    pub line: u32,
    pub message: String,
}

impl Refusal {
    /// The function the message is printed in, if it is a `pr_err`.
    pub fn function(&self) -> Option<&'static str> {
        KERNEL_MESSAGES
            .iter()
            .find(|(line, ..)| *line == self.line)
            .map(|(_, function, _)| *function)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message.trim_end(), self.error)?;
        if self.line != 0 {
            write!(f, ", kexec_file.c:{}", self.line)?;
        }
        if let Some(function) = self.function() {
            write!(f, " in {function}")?;
        }
        Ok(())
    }
}

/// `struct kjudge_result` of `kernel-judge/judge.c`.
#[repr(C)]
struct KjudgeResult {
    status: c_int,
    error: c_int,
    line: c_int,
    message: [u8; 256],
    entry: u64,
    file_size: u64,
    mem_size: u64,
    align: u64,
    offset: [u64; KERNEL_SYMBOLS.len()],
    size: [u64; KERNEL_SYMBOLS.len()],
}

const ACCEPTED: c_int = 0;
const REFUSED: c_int = 1;

unsafe extern "C" {
    fn kjudge_available() -> c_int;
    fn kjudge_judge(file: *const u8, size: usize, result: *mut KjudgeResult) -> c_int;
    fn kjudge_guard_selftest() -> c_int;
}

impl Kernel {
    /// The judge, if this build compiled one.
    pub fn built() -> Result<Self, Unavailable> {
        // SAFETY: takes nothing, returns a constant.
        if unsafe { kjudge_available() } == 1 {
            Ok(Self { _built: () })
        } else {
            Err(Unavailable)
        }
    }

    /// The judge, or `None` after saying loudly why not (once, on the
    /// process's stderr, which the test harness does not capture); in CI
    /// (`CI` set) a missing judge is an error, so that no CI run compares
    /// without it.
    pub fn or_skip() -> Option<Self> {
        static SAID: Once = Once::new();
        match Self::built() {
            Ok(kernel) => Some(kernel),
            Err(why) if std::env::var_os("CI").is_some() => panic!("{why}"),
            Err(why) => {
                SAID.call_once(|| {
                    let _ = writeln!(std::io::stderr(), "SKIPPED: the kernel judge. {why}");
                });
                None
            }
        }
    }

    /// Whether the harness notices a read one byte past a buffer it handed
    /// out: the proof that a kernel read past the file would be a fault.
    pub fn guard_catches_overruns(&self) -> bool {
        // SAFETY: takes nothing; the harness maps, reads past and unmaps a
        // buffer of its own, catching the fault it causes.
        unsafe { kjudge_guard_selftest() == 1 }
    }

    /// Runs the kernel's code on `elf`.
    pub fn run(&self, elf: &[u8]) -> Outcome {
        let mut result = KjudgeResult {
            status: 0,
            error: 0,
            line: 0,
            message: [0; 256],
            entry: 0,
            file_size: 0,
            mem_size: 0,
            align: 0,
            offset: [0; KERNEL_SYMBOLS.len()],
            size: [0; KERNEL_SYMBOLS.len()],
        };
        // SAFETY: `elf` is readable for its length and only read; `result`
        // is a writable `struct kjudge_result`. The harness keeps no pointer
        // to either after it returns.
        unsafe { kjudge_judge(elf.as_ptr(), elf.len(), &mut result) };
        let message = CStr::from_bytes_until_nul(&result.message).map_or_else(
            |_| String::from("(unterminated)"),
            |m| m.to_string_lossy().into(),
        );
        match result.status {
            ACCEPTED => Outcome::Accepted(Reading {
                entry: result.entry,
                file_size: result.file_size,
                mem_size: result.mem_size,
                align: result.align,
                symbols: KERNEL_SYMBOLS
                    .into_iter()
                    .zip(result.offset.into_iter().zip(result.size))
                    .collect(),
            }),
            REFUSED => Outcome::Refused(Refusal {
                error: result.error,
                line: u32::try_from(result.line).unwrap_or(0),
                message,
            }),
            _ => Outcome::Faulted(message),
        }
    }
}

impl Judge for Kernel {
    fn name(&self) -> &'static str {
        "kernel (patched kexec_file.c)"
    }

    fn judge(&self, elf: &[u8]) -> Verdict {
        match self.run(elf) {
            Outcome::Accepted(reading) => Verdict::Accepted(reading),
            Outcome::Refused(refusal) => Verdict::Refused(refusal.to_string()),
            Outcome::Faulted(what) => Verdict::Fault(format!("the kernel's code: {what}")),
        }
    }
}
