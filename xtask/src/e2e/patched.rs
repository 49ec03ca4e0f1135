//! The `kexec-file-*` scenarios: Linux's own `kexec_file_load` loads the
//! purgatory. The kernels are the patched ones of `cargo xtask kernel`
//! (`embedded` carries this purgatory, `builtin` the C one and reads a
//! purgatory under test from the file `kexec_file.purgatory=` names). In the
//! guest, `kexec-file-load` (a binary of `tests/e2e-init`) calls the syscall
//! with `KEXEC_FILE_DEBUG`, so the kernel logs where it put the purgatory and
//! the entry point it computed, and reboots into the loaded image: the same
//! kernel, with the stage-2 `/init`.
//!
//! They run on one QEMU variant, [`VARIANTS`]: the kernels are tiny and the
//! suite's time counts. It is QEMU 10, whose `-cpu max` has SHA-NI under TCG,
//! so our purgatory, which Linux loads with `purgatory_flags` as shipped, takes
//! its default path, the SHA-NI one, with Linux's hand-off state; the C
//! purgatory hashes in software whatever the CPU.

use super::bad_purgatory;
use super::cpio::Cpio;
use super::guest;
use super::judge;
use super::qemu::{self, Ending, Machine, Run, Watch};
use super::scenario::{Context, Outcome, STARTING_NEW_KERNEL, Scenario, Target};
use super::variant::Variant;
use crate::build::EMBEDDED_PATH;
use crate::cmd::project_root;
use crate::kernel::Kernels;
use anyhow::{Result, anyhow};
use e2e_protocol::protocol::{
    ARGS_FILE, PARAM_MARKER, PARAM_STAGE, QEMU_STATUS_FAIL, QEMU_STATUS_PASS, STAGE2,
};
use purgatory_host::Image;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// What one scenario boots and expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Our purgatory, embedded; 2 GiB, so it lands below 4 GiB.
    Embedded,
    /// Our purgatory, embedded; 6 GiB, so top-down placement puts it above 4 GiB.
    EmbeddedAbove4G,
    /// The C-purgatory kernel reads ours from a file.
    FromFile,
    /// The C purgatory, through the patched loader's ET_REL path.
    CPurgatory,
    /// A file purgatory with a second program header: refused.
    TwoProgramHeaders,
    /// A file purgatory whose `entry64_regs` is 128 bytes (the RFC layout): refused.
    RegsSize,
}

/// Where every `kexec-file-*` scenario runs (see the module's documentation).
const VARIANTS: &[Variant] = &[Variant::Qemu10];

pub const SCENARIOS: &[Scenario] = &[
    Scenario::patched(
        "kexec-file-embedded",
        "patched Linux kexec_file_loads a kernel through our embedded purgatory; the second /init runs",
        Case::Embedded,
        VARIANTS,
    ),
    Scenario::patched(
        "kexec-file-above-4g",
        "the same with 6 GiB: the kernel places our purgatory top-down, above 4 GiB",
        Case::EmbeddedAbove4G,
        VARIANTS,
    ),
    Scenario::patched(
        "kexec-file-param",
        "a C-purgatory kernel reads our purgatory from kexec_file.purgatory=<file> and boots through it",
        Case::FromFile,
        VARIANTS,
    ),
    Scenario::patched(
        "kexec-file-c-purgatory",
        "the patched kernel's own C (ET_REL) purgatory still boots the second kernel",
        Case::CPurgatory,
        VARIANTS,
    ),
    Scenario::patched(
        "kexec-file-two-phdrs",
        "the patched kernel refuses a purgatory with two program headers, saying so",
        Case::TwoProgramHeaders,
        VARIANTS,
    ),
    Scenario::patched(
        "kexec-file-regs-size",
        "the patched kernel refuses a purgatory whose entry64_regs is 128 bytes, naming the symbol",
        Case::RegsSize,
        VARIANTS,
    ),
];

/// Where the guest finds a purgatory under test.
const GUEST_PURGATORY: &str = "/boot/purgatory.elf";
const LINUX_BANNER: &str = "Linux version ";
/// `kexec-file-load`'s line when the syscall fails.
const REFUSED: &str = "KEXEC-FILE-REFUSED";
/// Logged by the patched kernel for `kexec_file.purgatory=`.
const TESTING_FILE: &str = "kexec_file: purgatory: testing ";
const FOUR_GIB: u64 = 1 << 32;

/// The two kernels, built once per run.
static KERNELS: OnceLock<Result<Kernels, String>> = OnceLock::new();

fn kernels() -> Result<&'static Kernels> {
    KERNELS
        .get_or_init(|| crate::kernel::build().map_err(|err| format!("{err:#}")))
        .as_ref()
        .map_err(|err| anyhow!("the patched kernels: {err}"))
}

/// Builds the patched kernels now, so that preparation (and its time) is
/// not charged to the first scenario.
pub fn prepare() -> Result<()> {
    let kernels = kernels()?;
    eprintln!("e2e: patched kernels ready: {}", kernels.description);
    Ok(())
}

impl Case {
    fn kernel(self, kernels: &Kernels) -> &Path {
        match self {
            Self::Embedded | Self::EmbeddedAbove4G => &kernels.embedded.bzimage,
            _ => &kernels.builtin.bzimage,
        }
    }

    fn memory(self) -> &'static str {
        match self {
            // QEMU's pc machine puts 3 GiB below the PCI hole, the rest above 4 GiB.
            Self::EmbeddedAbove4G => "6G",
            _ => "2G",
        }
    }

    /// The refusal this case expects: the checker's rules and the kernel's line.
    fn refusal(self) -> Option<(&'static [&'static str], &'static str)> {
        match self {
            Self::TwoProgramHeaders => Some((
                &["program-headers", "program-header-type"],
                "kexec_file: purgatory: 2 program headers, a linked purgatory must have exactly one PT_LOAD",
            )),
            Self::RegsSize => Some((
                &["symbol-size"],
                "kexec_file: symbol entry64_regs size mismatch: 128 bytes in the purgatory, the loader expects 136",
            )),
            _ => None,
        }
    }

    /// The purgatory file the guest gets, if any, and what the checker said.
    fn purgatory_file(self, ours: &[u8]) -> Result<Option<(Vec<u8>, String)>> {
        let bad = match self {
            Self::Embedded | Self::EmbeddedAbove4G | Self::CPurgatory => return Ok(None),
            Self::FromFile => return Ok(Some((ours.to_vec(), String::new()))),
            Self::TwoProgramHeaders => bad_purgatory::two_program_headers(ours)?,
            Self::RegsSize => bad_purgatory::with_symbol_size(ours, "entry64_regs", 128)?,
        };
        let (rules, _) = self.refusal().expect("a refusal case");
        let findings = bad_purgatory::confirm(&bad, rules)?;
        Ok(Some((bad, findings)))
    }

    /// Whether the purgatory that runs is ours (embedded or from the file).
    fn runs_ours(self) -> bool {
        matches!(
            self,
            Self::Embedded | Self::EmbeddedAbove4G | Self::FromFile
        )
    }
}

/// Prepares the images, boots, and judges the log.
pub fn run(scenario: &Scenario, case: Case, ctx: &Context, target: &Target) -> Result<Outcome> {
    let kernels = kernels()?;
    let name = scenario.run_name(target.variant);
    let work = ctx.root.join("work").join(&name);
    std::fs::create_dir_all(&work)?;
    let log = ctx.root.join("logs").join(format!("{name}.log"));
    let token = format!(
        "{}-{}-{:08x}",
        scenario.name,
        target.variant.name(),
        ctx.seed as u32
    );
    let ours = std::fs::read(project_root().join(EMBEDDED_PATH))?;

    let stage2 = work.join("stage2.cpio");
    guest::stage2_initramfs(&stage2, &ctx.programs, None)?;
    let kernel = case.kernel(kernels);
    let append2 = format!(
        "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 {PARAM_STAGE}=2 {PARAM_MARKER}={token}"
    );
    let args = [
        "/boot/bzImage",
        "--initrd",
        "/boot/stage2.cpio",
        "--append",
        &append2,
        "--debug",
    ];
    let file = case.purgatory_file(&ours)?;
    let stage1 = work.join("stage1.cpio");
    let mut cpio = Cpio::create(&stage1)?;
    guest::skeleton(&mut cpio, &ctx.programs.init)?;
    cpio.dir("bin")?;
    // A binary of the e2e-init package, built next to the /init.
    cpio.file_from_path(
        "bin/kexec-file-load",
        0o755,
        &ctx.programs.init.with_file_name("kexec-file-load"),
    )?;
    cpio.dir("e2e")?;
    cpio.file(ARGS_FILE, 0o644, (args.join("\n") + "\n").as_bytes())?;
    cpio.dir("boot")?;
    cpio.file_from_path("boot/bzImage", 0o644, kernel)?;
    cpio.file_from_path("boot/stage2.cpio", 0o644, &stage2)?;
    if let Some((bytes, _)) = &file {
        cpio.file(GUEST_PURGATORY.trim_start_matches('/'), 0o644, bytes)?;
    }
    cpio.finish()?;

    let mut append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1");
    if file.is_some() {
        // A module-style name: init/main.c drops unknown `kexec*` parameters.
        append.push_str(&format!(" kexec_file.purgatory={GUEST_PURGATORY}"));
    }
    let machine = Machine {
        qemu: &target.qemu,
        accel: target.accel,
        memory: case.memory(),
        kernel,
        initrd: &stage1,
        append: &append,
    };
    let watch = Watch::init_verdict(Duration::from_secs(120));
    let run = qemu::run(&machine, &watch, &log)?;
    let verdict = match case.refusal() {
        Some((_, message)) => judge_refusal(&run, message),
        None => judge_boot(&run, case, &token, &ours),
    };
    let mut evidence = evidence(&run.serial);
    if let Some((_, findings)) = file.filter(|(_, findings)| !findings.is_empty()) {
        evidence.insert(0, format!("cargo xtask check on the file: {findings}"));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Ok(Outcome {
        passed: verdict.is_ok(),
        summary: verdict.unwrap_or_else(|why| why),
        evidence,
        elapsed: run.elapsed,
        log,
        // Linux's loader announces no hash path and there is no probe.
        path: None,
        handover: judge::handover(&text),
        probe_cr: None,
    })
}

fn ending(run: &Run) -> String {
    match &run.ending {
        Ending::Exited(Some(QEMU_STATUS_PASS)) => "QEMU exited with the pass status".into(),
        Ending::Exited(Some(QEMU_STATUS_FAIL)) => "the guest reported a failure".into(),
        Ending::Exited(status) => format!("QEMU exited with status {status:?}"),
        Ending::Fatal(pattern) => format!("stopped on the fatal pattern {pattern:?}"),
        Ending::Stopped(line) => format!("stopped on {line:?}"),
        Ending::VerdictWithoutExit(marker) => format!("{marker:?} appeared but QEMU did not exit"),
        Ending::Halted { rip, .. } => format!("the CPU halted at {rip:#x}"),
        Ending::Timeout => format!("no outcome within {:.0} s", run.elapsed.as_secs_f64()),
    }
}

fn require(serial: &str, text: &str, what: &str) -> Result<(), String> {
    if serial.contains(text) {
        Ok(())
    } else {
        Err(format!("{what}: no {text:?} in the serial log"))
    }
}

/// The first hexadecimal number after `key` on a line containing it.
fn hex_after(serial: &str, key: &str) -> Option<u64> {
    serial.lines().find_map(|line| {
        let rest = line.split_once(key)?.1.trim_start().strip_prefix("0x")?;
        let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        u64::from_str_radix(&digits, 16).ok()
    })
}

/// The kernel's `KEXEC_FILE_DEBUG` line for the segment at `mem`: its bufsz.
fn segment_bufsz(serial: &str, mem: u64) -> Option<u64> {
    serial
        .lines()
        .filter(|line| line.contains(&format!("mem={mem:#x} ")))
        .find_map(|line| hex_after(line, "bufsz="))
}

fn judge_boot(run: &Run, case: Case, token: &str, ours: &[u8]) -> Result<String, String> {
    let serial = &run.serial;
    if run.exit_status() != Some(QEMU_STATUS_PASS) {
        return Err(ending(run));
    }
    let at = hex_after(serial, "Loaded purgatory at")
        .ok_or("no \"Loaded purgatory at\" line: was KEXEC_FILE_DEBUG set?")?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    if serial.matches(LINUX_BANNER).count() < 2 {
        return Err("only one kernel banner: the second kernel did not boot".into());
    }
    require(
        serial,
        &format!("{STAGE2} marker={token}"),
        "the second /init did not report the marker",
    )?;
    let from_file = serial.contains(TESTING_FILE);
    if from_file != (case == Case::FromFile) {
        return Err(format!(
            "{TESTING_FILE:?} in the log: {from_file}, expected the opposite"
        ));
    }
    let place = if case == Case::EmbeddedAbove4G {
        if at < FOUR_GIB {
            return Err(format!("the purgatory went to {at:#x}, below 4 GiB"));
        }
        "above 4 GiB"
    } else {
        "below 4 GiB"
    };
    if !case.runs_ours() {
        return Ok(format!(
            "C purgatory loaded at {at:#x} through the ET_REL path; second /init reported marker={token}"
        ));
    }
    // Ours is loaded as one segment of its file-backed bytes, entered at
    // load address + e_entry: the linked path, not the ET_REL one.
    let image = Image::parse(ours).map_err(|err| format!("our purgatory: {err}"))?;
    let start = hex_after(serial, "kexec_file_load: type:0, start:")
        .ok_or("no \"kexec_file_load: type:0, start:\" line")?;
    if start != at + image.entry() {
        return Err(format!(
            "entry {start:#x}, expected load address {at:#x} + e_entry {:#x}",
            image.entry()
        ));
    }
    let filesz = image.segment().len() as u64;
    if segment_bufsz(serial, at) != Some(filesz) {
        return Err(format!(
            "the segment at {at:#x} is not {filesz:#x} bytes (p_filesz) in the segment list"
        ));
    }
    Ok(format!(
        "our purgatory ({}) at {at:#x} ({place}), one {filesz:#x}-byte segment, entry {start:#x} = load + e_entry; second /init reported marker={token}",
        if from_file {
            "from the file"
        } else {
            "embedded"
        }
    ))
}

fn judge_refusal(run: &Run, message: &str) -> Result<String, String> {
    let serial = &run.serial;
    require(
        serial,
        message,
        "the kernel did not give the expected reason",
    )?;
    require(serial, REFUSED, "kexec_file_load did not fail")?;
    if serial.contains(STARTING_NEW_KERNEL) || serial.contains(STAGE2) {
        return Err("the refused purgatory was executed anyway".into());
    }
    // The stage-1 /init reports the loader's return as its failure.
    if run.exit_status() != Some(QEMU_STATUS_FAIL) {
        return Err(format!(
            "expected the stage-1 /init to report the refusal, but {}",
            ending(run)
        ));
    }
    let errno = serial
        .lines()
        .find_map(|line| {
            line.split_once(&format!("{REFUSED}: "))
                .map(|(_, e)| e.trim())
        })
        .unwrap_or("?");
    Ok(format!("refused ({errno}): {message:?}"))
}

/// The serial lines that show the load and the hand-over.
fn evidence(serial: &str) -> Vec<String> {
    let purgatory_segment =
        hex_after(serial, "Loaded purgatory at").map(|at| format!("mem={at:#x} "));
    let mut banners = 0;
    let mut picked = Vec::new();
    for line in serial.lines() {
        if line.contains(LINUX_BANNER) {
            banners += 1;
        }
        let wanted = line.contains("purgatory")
            || purgatory_segment
                .as_ref()
                .is_some_and(|segment| line.contains(segment))
            || line.contains("kexec_file_load: type")
            || line.contains(STARTING_NEW_KERNEL)
            || line.contains("symbol ")
            || line.contains(REFUSED)
            || line.contains(STAGE2)
            || (banners >= 2 && line.contains(LINUX_BANNER));
        if wanted && !line.contains("E2E-STAGE1") {
            picked.push(line.trim_end().to_owned());
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[    1.2] kexec_file: kernel: 0000000 kernel_size: 0x12\n\
        [    1.3] kexec-bzImage64: Loaded purgatory at 0x7ffd8000\n\
        [    1.4] kexec_file: segment[3]: buf=0x0000 bufsz=0x44a0 mem=0x7ffd8000 memsz=0x9000\n\
        [    1.5] kexec_file: kexec_file_load: type:0, start:0x7ffd83c0 head:0x1 flags:0x8\n";

    #[test]
    fn debug_lines_parse() {
        assert_eq!(hex_after(LOG, "Loaded purgatory at"), Some(0x7ffd_8000));
        assert_eq!(hex_after(LOG, "type:0, start:"), Some(0x7ffd_83c0));
        assert_eq!(segment_bufsz(LOG, 0x7ffd_8000), Some(0x44a0));
        assert_eq!(segment_bufsz(LOG, 0x1000), None);
    }

    #[test]
    fn names_are_unique_across_the_suite() {
        let all: Vec<_> = super::super::scenario::SCENARIOS
            .iter()
            .chain(SCENARIOS)
            .map(|s| s.name)
            .collect();
        for (i, name) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(name), "{name} twice");
        }
    }
}
