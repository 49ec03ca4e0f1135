//! Judging a run from its serial log: the second kernel's marker, the
//! purgatory's console lines, halt or reset, the register probe's lines; and
//! for every run, the hash path it showed against the one its QEMU variant
//! demands.

use super::qemu::{ControlRegisters, Ending, Run};
use super::scenario::{BIG_FILE_LEN, KernelCase, Kind, Placement, STARTING_NEW_KERNEL};
use e2e_protocol::control::{CR4_KNOWN, CR4_OSFXSR, kexec_cr0, kexec_cr4};
use e2e_protocol::protocol::{
    BIG_OK, INIT_PASS, LOADER_HASH, PARAM_MARKER, PROBE_CPU, PROBE_CR, PROBE_FAIL, PROBE_PASS,
    PROBE_PATH, QEMU_STATUS_FAIL, QEMU_STATUS_PASS, STAGE2,
};
use purgatory_abi::HashPath;

const LINUX_BANNER: &str = "Linux version ";
/// Printed by `kexec-load --corrupt-after-digest`.
const FLIPPED: &str = "TEST: flipped the byte";
/// Every line of the purgatory's console starts so.
const PURGATORY: &str = "purgatory: ";
/// The 64-bit entry point's offset in a bzImage's protected-mode kernel.
const STARTUP_64: u64 = 0x200;
/// The probe's first line.
const PROBE_REACHED: &str = "PROBE: reached";
/// A log line's host-seconds prefix, `{:8.3} `.
const LOG_PREFIX: usize = 9;
const FOUR_GIB: u64 = 1 << 32;
const RFLAGS_IF: u64 = 1 << 9;
/// The `hlt` opcode.
const HLT: u8 = 0xf4;

/// What the run's QEMU variant demands.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// The hash path the purgatory must take (unknown under KVM).
    pub path: Option<HashPath>,
    /// Whether the guest CPU has SHA-NI (unknown under KVM).
    pub sha_ni: Option<bool>,
}

/// Why a run that should have passed did not, from how it ended.
fn ending_problem(run: &Run) -> String {
    let reset = if run.triple_fault {
        " after a triple fault (see the .qemu-debug.log)"
    } else {
        ""
    };
    match &run.ending {
        Ending::Exited(Some(QEMU_STATUS_PASS)) => "QEMU exited with the pass status".into(),
        Ending::Exited(Some(QEMU_STATUS_FAIL)) => {
            "the guest reported a failure (QEMU status 35)".into()
        }
        Ending::Exited(Some(0)) => {
            format!(
                "QEMU exited with status 0 without a verdict: the guest reset or powered off{reset}"
            )
        }
        Ending::Exited(status) => format!("QEMU exited with status {status:?}{reset}"),
        Ending::Fatal(pattern) => format!("stopped on the fatal pattern {pattern:?}"),
        Ending::Stopped(pattern) => format!("stopped on {pattern:?}"),
        Ending::VerdictWithoutExit(marker) => format!("{marker:?} appeared but QEMU did not exit"),
        Ending::Halted { rip, .. } => format!("the CPU halted at {rip:#x}"),
        Ending::Timeout => format!(
            "no outcome before the timeout ({:.0} s)",
            run.elapsed.as_secs_f64()
        ),
    }
}

fn passed_exit(run: &Run) -> Result<(), String> {
    if run.exit_status() == Some(QEMU_STATUS_PASS) {
        Ok(())
    } else {
        Err(ending_problem(run))
    }
}

fn require(serial: &str, text: &str, what: &str) -> Result<(), String> {
    if serial.contains(text) {
        Ok(())
    } else {
        Err(format!("{what}: no {text:?} in the serial log"))
    }
}

pub fn second_kernel(
    run: &Run,
    case: KernelCase,
    token: &str,
    expect: &Expect,
) -> Result<String, String> {
    passed_exit(run)?;
    let serial = &run.serial;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    let banners = serial.matches(LINUX_BANNER).count();
    if banners < 2 {
        return Err(format!(
            "{banners} kernel banner(s): the second kernel did not boot"
        ));
    }
    let cmdline_seen = serial.lines().any(|line| {
        line.contains("Command line:") && line.contains(&format!("{PARAM_MARKER}={token}"))
    });
    if !cmdline_seen {
        return Err(format!(
            "no second kernel banner with {PARAM_MARKER}={token} on its command line"
        ));
    }
    require(
        serial,
        &format!("{STAGE2} marker={token}"),
        "the second /init did not report the marker",
    )?;
    let path = loader_path(serial, expect)?;
    let rows = plan_rows(serial);
    let shown: Result<String, String> = match case {
        KernelCase::NoVerify => {
            if rows.iter().any(|row| row.verified) {
                return Err("--no-verify, yet the plan lists verified segments".into());
            }
            Ok(format!(
                "booted with an empty region table; second /init reported marker={token}"
            ))
        }
        KernelCase::LargeInitrd => {
            require(
                serial,
                BIG_OK,
                "the second /init did not check the large file",
            )?;
            let initrd = rows
                .iter()
                .find(|row| row.name == "initrd")
                .ok_or("no initrd row in the plan")?;
            if initrd.bytes < BIG_FILE_LEN || !initrd.verified {
                return Err(format!(
                    "the initrd segment is {:#x} bytes, verified {}",
                    initrd.bytes, initrd.verified
                ));
            }
            Ok(format!(
                "{} MiB initrd at {:#x} verified by the purgatory, every byte checked by the second /init",
                initrd.bytes >> 20,
                initrd.start
            ))
        }
        _ => {
            let verified = rows.iter().filter(|row| row.verified).count();
            Ok(format!(
                "second kernel booted after verifying {verified} segments; its /init reported marker={token}"
            ))
        }
    };
    let console = if case == KernelCase::NoVerify {
        String::new()
    } else {
        let kernel = rows
            .iter()
            .find(|row| row.name == "kernel")
            .ok_or("no kernel row in the plan")?;
        format!(
            "; {}",
            purgatory_success(serial, &rows, path, kernel.start + STARTUP_64)?
        )
    };
    Ok(format!("{}{console}; {}", shown?, path_words(path)))
}

/// The flipped byte must leave the CPU halted inside the purgatory, with
/// interrupts off, and nothing of a second stage in the log. With a console
/// the purgatory must have named the flipped segment (the run stops on its
/// last line); without one, printed nothing at all.
pub fn halt(run: &Run, expect: &Expect, console: bool) -> Result<String, String> {
    let serial = &run.serial;
    require(serial, FLIPPED, "kexec-load did not flip the byte")?;
    let path = loader_path(serial, expect)?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    no_second_stage(serial)?;
    let said = if console {
        purgatory_failure(serial, "halting")?
    } else {
        match purgatory_lines(serial).first() {
            Some(line) => return Err(format!("--no-console, yet the purgatory printed {line:?}")),
            None => "--no-console: not one purgatory line".to_owned(),
        }
    };
    let (rip, rflags) = match (&run.ending, run.cpu_at_stop) {
        (Ending::Halted { rip, rflags }, _) => (*rip, *rflags),
        (Ending::Stopped(_), Some(cpu)) if cpu.halted => (cpu.rip, cpu.rflags),
        (Ending::Stopped(pattern), cpu) => {
            return Err(format!(
                "stopped on {pattern:?}, but the CPU was not halted within a second ({cpu:?})"
            ));
        }
        _ => return Err(format!("expected a halt, but {}", ending_problem(run))),
    };
    let purgatory = plan_rows(serial)
        .into_iter()
        .find(|row| row.name == "purgatory")
        .ok_or("no purgatory row in the plan")?;
    if !(purgatory.start..purgatory.end).contains(&rip) {
        return Err(format!(
            "the CPU halted at {rip:#x}, outside the purgatory {:#x}..{:#x}",
            purgatory.start, purgatory.end
        ));
    }
    // The halt must be the purgatory's own: RIP just after one of its `hlt`s
    // (the embedded copy is what kexec-load loaded: the build refreshed it).
    let hlt_at = usize::try_from(rip - purgatory.start)
        .ok()
        .and_then(|offset| offset.checked_sub(1));
    if hlt_at.and_then(|at| purgatory_host::PURGATORY_ELF.get(at)) != Some(&HLT) {
        return Err(format!(
            "the CPU halted at {rip:#x}, which does not follow a hlt of the purgatory"
        ));
    }
    if rflags & RFLAGS_IF != 0 {
        return Err(format!(
            "halted at {rip:#x} with interrupts enabled (RFLAGS {rflags:#x})"
        ));
    }
    Ok(format!(
        "purgatory refused: {said}; CPU halted on its hlt at {rip:#x} (purgatory {:#x}..{:#x}, IF=0), no second kernel, no reset; {}",
        purgatory.start,
        purgatory.end,
        path_words(path)
    ))
}

/// With `--on-failure reset` the purgatory names the flipped segment, says
/// it resets, and QEMU (`-no-reboot`) exits with status 0 on the reset.
pub fn reset(run: &Run, expect: &Expect) -> Result<String, String> {
    let serial = &run.serial;
    require(serial, FLIPPED, "kexec-load did not flip the byte")?;
    let path = loader_path(serial, expect)?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    no_second_stage(serial)?;
    let said = purgatory_failure(serial, "resetting")?;
    if run.exit_status() != Some(0) {
        return Err(format!("expected a reset, but {}", ending_problem(run)));
    }
    // -d cpu_reset logs a triple fault with its cause: the purgatory's
    // fallback, used only if the write to port 0xcf9 did not reset.
    let how = if run.triple_fault {
        "through the triple-fault fallback (port 0xcf9 did not reset)"
    } else {
        "through port 0xcf9 (no triple fault)"
    };
    Ok(format!(
        "purgatory refused: {said}; QEMU exited with status 0 on the reset {how}, no second kernel; {}",
        path_words(path)
    ))
}

fn no_second_stage(serial: &str) -> Result<(), String> {
    if serial.contains(STAGE2)
        || serial.contains(PROBE_PASS)
        || serial.matches(LINUX_BANNER).count() > 1
    {
        return Err("the second stage ran despite the flipped byte".into());
    }
    Ok(())
}

/// The purgatory's console lines (from `purgatory: ` on), after the first
/// kernel's jump: nothing before it can be the purgatory's.
fn purgatory_lines(serial: &str) -> Vec<&str> {
    let after = serial
        .find(STARTING_NEW_KERNEL)
        .map_or("", |at| &serial[at..]);
    after
        .lines()
        .filter_map(|line| line.find(PURGATORY).map(|at| line[at..].trim_end()))
        .collect()
}

fn hex_number(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// `<index> at 0x<start>,` as both `kexec-load`'s note (`(segment 0 at
/// 0x1000000, kernel + …)`) and the purgatory (`segment 0 at 0x1000000, …`)
/// print it, after the word `segment `.
fn segment_and_start(text: &str) -> Option<(usize, u64)> {
    let rest = &text[text.find("segment ")? + "segment ".len()..];
    let (index, rest) = rest.split_once(" at ")?;
    let start = rest.split(',').next()?;
    Some((index.parse().ok()?, hex_number(start)?))
}

/// The failure report: the mismatch, exactly the segment `kexec-load`
/// flipped (same index and start), then `purgatory: <last>` as the last line.
fn purgatory_failure(serial: &str, last: &str) -> Result<String, String> {
    let flipped = serial
        .lines()
        .find(|line| line.contains(FLIPPED))
        .and_then(segment_and_start)
        .ok_or("kexec-load's note does not say which segment it flipped")?;
    let lines = purgatory_lines(serial);
    if !lines
        .iter()
        .any(|l| l.contains("verification FAILED after"))
    {
        return Err(format!(
            "no \"purgatory: verification FAILED\" line; the purgatory printed {lines:?}"
        ));
    }
    let named: Vec<_> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("purgatory: segment "))
        .map(|rest| segment_and_start(&format!("segment {rest}")))
        .collect();
    if named != [Some(flipped)] {
        return Err(format!(
            "kexec-load flipped a byte of segment {} at {:#x}, the purgatory named {named:?}: {lines:?}",
            flipped.0, flipped.1
        ));
    }
    let want = format!("{PURGATORY}{last}");
    if lines.last() != Some(&want.as_str()) {
        return Err(format!(
            "the purgatory's last line is {:?}, not {want:?}",
            lines.last()
        ));
    }
    Ok(format!(
        "it named segment {} at {:#x} (the flipped one) and said {last:?}",
        flipped.0, flipped.1
    ))
}

/// A good run's console lines: at entry what it verifies and how (the path
/// the loader announced), after the pass as many bytes and some TSC ticks,
/// then the jump to `target`.
fn purgatory_success(
    serial: &str,
    rows: &[PlanRow],
    path: HashPath,
    target: u64,
) -> Result<String, String> {
    let lines = purgatory_lines(serial);
    let field = |prefix: &str| {
        lines
            .iter()
            .find_map(|line| line.strip_prefix(prefix))
            .ok_or(format!(
                "no {prefix:?} line; the purgatory printed {lines:?}"
            ))
    };
    // `3 segments (20480 bytes) with sha-ni`
    let verifying = field("purgatory: verifying ")?;
    let words: Vec<_> = verifying.split_whitespace().collect();
    let count = words.first().and_then(|w| w.parse::<usize>().ok());
    let bytes = words
        .get(2)
        .and_then(|w| w.trim_start_matches('(').parse::<u64>().ok());
    let engine = verifying.split_once(" with ").map(|(_, e)| e);
    let verified: Vec<_> = rows.iter().filter(|row| row.verified).collect();
    let covered: u64 = verified.iter().map(|row| row.memsz).sum();
    let want_engine = match path {
        HashPath::Software => "software sha-256",
        HashPath::ShaNi => "sha-ni",
    };
    if (count, bytes, engine) != (Some(verified.len()), Some(covered), Some(want_engine)) {
        return Err(format!(
            "the purgatory announced {verifying:?}; the plan verifies {} segments, {covered} bytes, on the {} path",
            verified.len(),
            path.name()
        ));
    }
    // `20480 bytes in 1000 tsc ticks`
    let done = field("purgatory: verified ")?;
    let words: Vec<_> = done.split_whitespace().collect();
    let ticks = match words[..] {
        [hashed, "bytes", "in", ticks, "tsc", "ticks"] if hashed.parse() == Ok(covered) => {
            ticks.parse::<u64>().ok().filter(|&t| t > 0)
        }
        _ => None,
    };
    let ticks = ticks.ok_or(format!(
        "the verification line {done:?} does not report {covered} bytes and some TSC ticks"
    ))?;
    let jump = field("purgatory: jumping to ")?;
    if hex_number(jump) != Some(target) {
        return Err(format!(
            "the purgatory jumped to {jump}, the hand-off target is {target:#x}"
        ));
    }
    Ok(format!(
        "purgatory said: {} segments, {covered} bytes with {want_engine} in {ticks} TSC ticks, jumping to {target:#x}",
        verified.len()
    ))
}

pub fn probe(
    run: &Run,
    placement: Placement,
    entry_offset: u64,
    expect: &Expect,
) -> Result<String, String> {
    let serial = &run.serial;
    if serial.contains(PROBE_FAIL) {
        return Err("the probe found a mismatch (see the PROBE lines)".into());
    }
    passed_exit(run)?;
    require(serial, PROBE_PASS, "the probe gave no verdict")?;
    let row = plan_rows(serial)
        .into_iter()
        .find(|row| row.name == "purgatory")
        .ok_or("no purgatory row in the plan")?;
    let (start, end) = (row.start, row.end);
    let placed = match placement {
        Placement::Low => start < 0x10_0000,
        Placement::Below4G => end <= FOUR_GIB && start >= FOUR_GIB / 2,
        Placement::Above4G => start >= FOUR_GIB,
        Placement::Random => start.is_multiple_of(0x1000),
    };
    if !placed {
        return Err(format!(
            "the purgatory went to {start:#x}..{end:#x}, not where {placement:?} asks"
        ));
    }
    let seed = if placement == Placement::Random {
        serial
            .lines()
            .find_map(|line| {
                line.split_once("(seed ")
                    .map(|(_, s)| s.trim_end_matches([')', ' ']))
            })
            .map(|s| format!(" (seed {s})"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let cr = control_registers(run)?;
    let path = probe_path(serial, expect)?;
    let rows = plan_rows(serial);
    let payload = rows
        .iter()
        .find(|row| row.name == "payload")
        .ok_or("no payload row in the plan")?;
    let console = purgatory_success(serial, &rows, path, payload.start + entry_offset)?;
    Ok(format!(
        "purgatory at {start:#x}..{end:#x}{seed}; {console}; all registers, selectors, IF and GDT as expected; {cr}; the XMM registers show the {} path{}",
        path.name(),
        match path {
            HashPath::ShaNi => " (digest state left by the SHA-NI routine)",
            HashPath::Software => " (no SHA-NI state)",
        }
    ))
}

fn path_words(path: HashPath) -> String {
    format!("kexec-load announced the {} path", path.name())
}

/// The path `kexec-load` announced (`  hash  sha-ni: …`), by the purgatory's
/// rule, must be the one the variant demands.
fn loader_path(serial: &str, expect: &Expect) -> Result<HashPath, String> {
    let path = announced_path(serial).ok_or("kexec-load announced no hash path")?;
    match expect.path {
        Some(want) if want != path => Err(format!(
            "kexec-load announced the {} path, but this variant must take the {} path{}",
            path.name(),
            want.name(),
            sha_ni_hint(expect)
        )),
        _ => Ok(path),
    }
}

fn sha_ni_hint(expect: &Expect) -> &'static str {
    match expect.sha_ni {
        Some(true) => " (its QEMU should emulate SHA-NI under TCG -cpu max)",
        Some(false) => " (its QEMU should not emulate SHA-NI under TCG -cpu max)",
        None => "",
    }
}

fn announced_path(serial: &str) -> Option<HashPath> {
    serial.lines().find_map(|line| {
        let rest = line.strip_prefix(LOADER_HASH)?.trim_start();
        HashPath::from_name(rest.split(':').next()?)
    })
}

/// The value after `key` on the first line starting with `marker`.
fn probe_field<'a>(serial: &'a str, marker: &str, key: &str) -> Option<&'a str> {
    serial.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(marker)?;
        let at = rest.find(key)? + key.len();
        rest[at..].split_whitespace().next()
    })
}

/// The path the probe saw in the XMM registers: it checked it against CPUID
/// and `purgatory_flags` itself; here it must also be the variant's, and the
/// CPU must have SHA-NI exactly where the variant says.
fn probe_path(serial: &str, expect: &Expect) -> Result<HashPath, String> {
    let path = shown_path(serial).ok_or("the probe reported no hash path")?;
    let sha_ni = match probe_field(serial, PROBE_CPU, "sha_ni ") {
        Some("present") => true,
        Some("absent") => false,
        _ => return Err("the probe did not report CPUID's SHA bit".into()),
    };
    if let Some(want) = expect.sha_ni
        && want != sha_ni
    {
        return Err(format!(
            "the guest CPU {} SHA-NI{}",
            if sha_ni { "has" } else { "lacks" },
            sha_ni_hint(expect)
        ));
    }
    if let Some(want) = expect.path
        && want != path
    {
        return Err(format!(
            "the XMM registers show the {} path, this variant must take the {} path",
            path.name(),
            want.name()
        ));
    }
    if announced_path(serial) != Some(path) {
        return Err(format!(
            "the XMM registers show the {} path, kexec-load announced {:?}",
            path.name(),
            announced_path(serial).map(HashPath::name)
        ));
    }
    Ok(path)
}

/// The hash path a run showed: the probe's finding, else the loader's announcement.
pub fn shown_path(serial: &str) -> Option<HashPath> {
    serial
        .lines()
        .find_map(|line| {
            let rest = line.trim_start().strip_prefix(PROBE_PATH)?;
            HashPath::from_name(rest.split_whitespace().next()?)
        })
        .or_else(|| announced_path(serial))
}

/// CR0 and CR4 at the probe's entry (`PROBE-CR: cr0=0x… cr4=0x…`).
pub fn probe_cr(serial: &str) -> Option<ControlRegisters> {
    let hex = |key| {
        let text = probe_field(serial, PROBE_CR, key)?;
        u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
    };
    Some(ControlRegisters {
        cr0: hex("cr0=")?,
        cr4: hex("cr4=")?,
    })
}

/// The probe checked CR0/CR4 against the loader's model; here they must also
/// be exactly what the kexec derived from the first kernel's, as the monitor
/// read them while it ran (its CR4 has OSFXSR: Linux sets it at boot).
fn control_registers(run: &Run) -> Result<String, String> {
    let seen = probe_cr(&run.serial).ok_or("the probe did not report CR0/CR4")?;
    let Some(first) = run.snapshot.filter(|cr| cr.cr4 & CR4_OSFXSR != 0) else {
        return Ok(format!(
            "CR0={:#x} CR4={:#x} (the first kernel's were not read in time)",
            seen.cr0, seen.cr4
        ));
    };
    let (cr0, cr4) = (kexec_cr0(first.cr0), kexec_cr4(first.cr4));
    if seen.cr0 != cr0 || seen.cr4 & CR4_KNOWN != cr4 & CR4_KNOWN {
        return Err(format!(
            "the purgatory handed over CR0={:#x} CR4={:#x}, the kexec had set CR0={cr0:#x} CR4={cr4:#x} \
             (from the first kernel's CR0={:#x} CR4={:#x})",
            seen.cr0, seen.cr4, first.cr0, first.cr4
        ));
    }
    Ok(format!(
        "CR0={:#x} CR4={:#x}, exactly as the kexec set them from the first kernel's CR0={:#x} CR4={:#x}",
        seen.cr0, seen.cr4, first.cr0, first.cr4
    ))
}

/// Host seconds from the first kernel's jump to the purgatory to the next
/// image's first line (a kernel banner or the probe's).
pub fn handover(log: &str) -> Option<f64> {
    let seconds = |line: &str| line.split_whitespace().next()?.parse::<f64>().ok();
    let mut lines = log.lines();
    let jump = lines.find(|line| line.contains(STARTING_NEW_KERNEL))?;
    let next = lines.find(|line| line.contains(LINUX_BANNER) || line.contains(PROBE_REACHED))?;
    Some(seconds(next)? - seconds(jump)?)
}

/// A segment row of `kexec-load`'s plan, as printed in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlanRow {
    name: String,
    start: u64,
    end: u64,
    memsz: u64,
    bytes: u64,
    verified: bool,
}

/// Rows look like `  3  purgatory    0x…  0x…  0x…(memsz)  0x…(bytes)  yes|no…`.
fn plan_rows(serial: &str) -> Vec<PlanRow> {
    let hex = |text: &str| u64::from_str_radix(text.strip_prefix("0x")?, 16).ok();
    serial
        .lines()
        .filter_map(|line| {
            let words: Vec<_> = line.split_whitespace().collect();
            let [index, name, start, end, memsz, bytes, verified, ..] = words[..] else {
                return None;
            };
            index.parse::<usize>().ok()?;
            Some(PlanRow {
                name: name.to_owned(),
                start: hex(start)?,
                end: hex(end)?,
                memsz: hex(memsz)?,
                bytes: hex(bytes)?,
                verified: verified == "yes",
            })
        })
        .collect()
}

/// The timestamped log lines that show the hand-over and the hash path.
pub fn evidence(text: &str, kind: Kind) -> Vec<String> {
    let mut banners = 0;
    let mut picked = Vec::new();
    for line in text.lines() {
        if line.contains(LINUX_BANNER) {
            banners += 1;
        }
        let wanted = line.contains(STARTING_NEW_KERNEL)
            || line.contains(FLIPPED)
            || line.contains(PURGATORY)
            || (banners >= 2 && (line.contains(LINUX_BANNER) || line.contains("Command line:")))
            || line.contains(STAGE2)
            || line.contains(BIG_OK)
            || line.contains(INIT_PASS)
            || line.contains(PROBE_REACHED)
            || line.contains(PROBE_CR)
            || line.contains(PROBE_CPU)
            || line.contains("PROBE: xmm")
            || line.contains(PROBE_PATH)
            || line.contains(PROBE_PASS)
            || line
                .get(LOG_PREFIX..)
                .is_some_and(|t| t.starts_with(LOADER_HASH))
            || line.contains("monitor: CR0=")
            || line.contains("monitor: CPU halted")
            || line.contains("monitor: after");
        if wanted {
            picked.push(line.trim_end().to_owned());
        }
    }
    if matches!(kind, Kind::Probe(_)) {
        picked.retain(|line| !line.contains(LINUX_BANNER));
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_rows_parse() {
        let serial = "kexec-load: bzImage ...\n  #  segment      start  end\n\
            \x20 0  kernel       0x0000000001000000  0x0000000004c00000  0x03c00000  0x00c31000  yes\n\
            \x20 3  purgatory    0x00000000bffd7000  0x00000000bffe0000  0x00009000  0x00007770  no (holds the digest)\n\
            \x20 purgatory    highest fit in RAM\n[    0.0] 1 2 3 4 5 6\n";
        let rows = plan_rows(serial);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            PlanRow {
                name: "purgatory".into(),
                start: 0xbffd_7000,
                end: 0xbffe_0000,
                memsz: 0x9000,
                bytes: 0x7770,
                verified: false
            }
        );
        assert!(rows[0].verified);
    }

    const PROBE_SERIAL: &str = "  purgatory    lowest fit at or above 0x0 \r\n\
        \x20 hash         sha-ni: the CPU has SHA, SSSE3 and SSE4.1\r\n\
        PROBE: reached the payload at 0x1000080\r\n\
        PROBE-CR: cr0=0x0000000080000033 cr4=0x0000000000001020 (cr3=0x00000001715e5000)\r\n\
        PROBE-CPU: sha_ni present (CPUID SHA=1 SSSE3=1 SSE4.1=1)\r\n\
        PROBE-PATH: sha-ni ok\r\n";

    #[test]
    fn paths_and_registers_are_read_from_the_serial_lines() {
        assert_eq!(announced_path(PROBE_SERIAL), Some(HashPath::ShaNi));
        assert_eq!(shown_path(PROBE_SERIAL), Some(HashPath::ShaNi));
        assert_eq!(
            probe_cr(PROBE_SERIAL),
            Some(ControlRegisters {
                cr0: 0x8000_0033,
                cr4: 0x1020
            })
        );
        let expect = Expect {
            path: Some(HashPath::ShaNi),
            sha_ni: Some(true),
        };
        assert_eq!(probe_path(PROBE_SERIAL, &expect), Ok(HashPath::ShaNi));
        let qemu7 = Expect {
            path: Some(HashPath::Software),
            sha_ni: Some(false),
        };
        assert!(
            probe_path(PROBE_SERIAL, &qemu7)
                .unwrap_err()
                .contains("has SHA-NI")
        );
        assert!(
            loader_path(PROBE_SERIAL, &qemu7)
                .unwrap_err()
                .contains("must take the software path")
        );
    }

    const PLAN: &str = "  #  segment      start               end                 memsz       bytes       verified\n\
        \x20 0  kernel       0x0000000001000000  0x0000000004c00000  0x03c00000  0x00c31000  yes\n\
        \x20 1  boot-params  0x0000000000010000  0x0000000000012000  0x00002000  0x00001100  yes\n\
        \x20 2  purgatory    0x00000000bffd7000  0x00000000bffe0000  0x00009000  0x00007770  no (holds the digest)\n";

    #[test]
    fn the_purgatory_success_lines_are_checked() {
        let serial = format!(
            "{PLAN}[    2.2] kexec_core: Starting new kernel\r\n\
             purgatory: verifying 2 segments (62922752 bytes) with sha-ni\r\n\
             purgatory: verified 62922752 bytes in 123456 tsc ticks\r\n\
             purgatory: jumping to 0x1000200\r\n"
        );
        let rows = plan_rows(&serial);
        let said = purgatory_success(&serial, &rows, HashPath::ShaNi, 0x100_0200).unwrap();
        assert!(said.contains("123456 TSC ticks"), "{said}");
        assert!(
            purgatory_success(&serial, &rows, HashPath::Software, 0x100_0200)
                .unwrap_err()
                .contains("software path")
        );
        assert!(
            purgatory_success(&serial, &rows, HashPath::ShaNi, 0x100_0000)
                .unwrap_err()
                .contains("hand-off target")
        );
        assert!(purgatory_success(PLAN, &rows, HashPath::ShaNi, 0x100_0200).is_err());
    }

    #[test]
    fn the_failure_report_must_name_the_flipped_segment() {
        let serial = |segment: &str, last: &str| {
            format!(
                "  TEST: flipped the byte at 0x1618000 (segment 0 at 0x1000000, kernel + 0x618000) from 0x1 to 0xfe\n\
                 [    2.2] kexec_core: Starting new kernel\r\n\
                 purgatory: verifying 2 segments (62922752 bytes) with sha-ni\r\n\
                 purgatory: verification FAILED after 62922752 bytes in 99 tsc ticks\r\n\
                 purgatory: {segment}, 0x3c00000 bytes: expected 00, computed 11\r\n\
                 purgatory: {last}\r\n"
            )
        };
        let good = serial("segment 0 at 0x1000000", "halting");
        assert!(
            purgatory_failure(&good, "halting")
                .unwrap()
                .contains("segment 0 at 0x1000000")
        );
        assert!(
            purgatory_failure(&good, "resetting")
                .unwrap_err()
                .contains("last line")
        );
        let wrong = serial("segment 1 at 0x10000", "halting");
        assert!(
            purgatory_failure(&wrong, "halting")
                .unwrap_err()
                .contains("named")
        );
        assert!(purgatory_lines(PLAN).is_empty());
    }

    #[test]
    fn the_handover_is_timed_from_the_log() {
        let log = "   3.381 [    2.249318] kexec_core: Starting new kernel\n   3.390 \n\
                   \x20  4.890 [    0.000000] Linux version 6.12\n";
        let seconds = handover(log).unwrap();
        assert!((seconds - 1.509).abs() < 1e-9, "{seconds}");
        assert_eq!(handover("   1.000 nothing\n"), None);
    }
}
