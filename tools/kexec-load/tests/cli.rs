//! The command line as a user meets it. Only `--dry-run` and refusals are
//! exercised: a test must never call the real `kexec_load` on the host.

#[allow(dead_code, reason = "the unit tests share it and use the rest")]
mod support;

use kexec_load::report::PlanReport;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::crash::{QEMU_HIGH, QEMU_IOMEM_LOW, QEMU_LOW, write_crash_fixture};
use support::{OVMF_ACPI20, SysfsFixture, scratch_dir, synthetic_bzimage, write_map};

/// A sysfs-like memory map: 640 KiB low RAM and 1 GiB from 1 MiB.
fn memmap(dir: &Path) -> PathBuf {
    let map = dir.join("memmap");
    write_map(
        &map,
        &[
            (0x0, 0x9_fbff, "System RAM"),
            (0x9_fc00, 0xf_ffff, "Reserved"),
            (0x10_0000, 0x400f_ffff, "System RAM"),
        ],
    );
    map
}

fn kexec_load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kexec-load"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A map, a BIOS boot's sysfs tree and a synthetic bzImage in a scratch
/// directory: nothing is read from the host's /sys.
struct Inputs {
    dir: PathBuf,
    map: String,
    sysfs: String,
    kernel: String,
}

impl Inputs {
    fn new(name: &str) -> Self {
        let dir = scratch_dir(&format!("cli-{name}"));
        let map = memmap(&dir).to_str().unwrap().to_owned();
        let sysfs = SysfsFixture::bios(&dir.join("sysfs"));
        let sysfs = sysfs.root.to_str().unwrap().to_owned();
        let kernel = dir.join("vmlinuz");
        std::fs::write(&kernel, synthetic_bzimage(0x3000)).unwrap();
        let kernel = kernel.to_str().unwrap().to_owned();
        Self {
            dir,
            map,
            sysfs,
            kernel,
        }
    }

    /// `kexec-load --dry-run --sysfs SYSFS --memmap MAP ARGS…`, which must succeed.
    fn dry_run(&self, args: &[&str]) -> String {
        let mut full = vec!["--dry-run", "--sysfs", &self.sysfs, "--memmap", &self.map];
        full.extend_from_slice(args);
        let out = kexec_load(&full);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{full:?}: {stdout}\n{}",
            text(&out.stderr)
        );
        stdout
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The rows of the table: `(name, start, end, memsz, bytes, verified)`.
fn table_rows(stdout: &str) -> Vec<(String, u64, u64, u64, u64, bool)> {
    let hex = |word: &str| u64::from_str_radix(word.trim_start_matches("0x"), 16).unwrap();
    stdout
        .lines()
        .filter_map(|line| {
            let words: Vec<_> = line.split_whitespace().collect();
            words.first()?.parse::<usize>().ok()?;
            let [_, name, start, end, memsz, bytes, verified, ..] = words[..] else {
                return None;
            };
            let numbers = (hex(start), hex(end), hex(memsz), hex(bytes));
            Some((
                name.to_owned(),
                numbers.0,
                numbers.1,
                numbers.2,
                numbers.3,
                verified == "yes",
            ))
        })
        .collect()
}

/// The JSON plan's segments as [`table_rows`] reads the table's.
fn report_rows(report: &PlanReport) -> Vec<(String, u64, u64, u64, u64, bool)> {
    report
        .segments
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.start,
                s.end,
                s.mem_size,
                s.bytes,
                s.verified,
            )
        })
        .collect()
}

#[test]
fn dry_run_prints_the_plan_of_a_bzimage() {
    let inputs = Inputs::new("bzimage");
    let args = [
        inputs.kernel.as_str(),
        "--append",
        "console=ttyS0",
        "--purgatory-addr",
        "random",
        "--seed",
        "42",
        "--no-console",
    ];
    let stdout = inputs.dry_run(&args);
    for needle in [
        "kernel       0x0000000001000000",
        "boot-params  0x0000000000010000",
        "purgatory    0x",
        "no (holds the digest)",
        "digest       sha256 ",
        "random fit (seed 42)",
        "rip=0x1000200",
        "dry run, nothing loaded",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    // The same seed gives the same plan; only the digest differs, since the
    // boot parameters carry a fresh SETUP_RNG_SEED each time.
    assert_eq!(
        without_digest(&inputs.dry_run(&args)),
        without_digest(&stdout)
    );
    assert!(stdout.contains("SETUP_RNG_SEED  32 bytes"), "{stdout}");
}

/// The table without its digest line.
fn without_digest(table: &str) -> Vec<&str> {
    table
        .lines()
        .filter(|line| !line.starts_with("  digest "))
        .collect()
}

#[test]
fn json_is_one_line_with_the_plan_s_numbers() {
    let inputs = Inputs::new("json");
    let args = [
        inputs.kernel.as_str(),
        "--purgatory-addr",
        "random",
        "--seed",
        "7",
        "--no-console",
        "--on-failure",
        "reset",
    ];
    let table = inputs.dry_run(&args);
    let json = inputs.dry_run(&[&args[..], &["--json"]].concat());
    let [line] = json.lines().collect::<Vec<_>>()[..] else {
        panic!("not one line on stdout: {json}");
    };
    let report = PlanReport::from_line(line).unwrap();
    let rows = report_rows(&report);
    assert_eq!(rows, table_rows(&table));
    // Two runs, two RNG seeds: the digests differ, their coverage does not.
    assert!(table.contains(&format!(
        "over 2 region(s), {:#x} bytes",
        report.digest.bytes
    )));
    assert_eq!(report.digest.sha256.len(), 64);
    assert!(table.contains(&format!(
        "entry        {:#x} (purgatory_start)",
        report.purgatory.entry
    )));
    let regs = &report.entry_regs;
    assert!(table.contains(&format!(
        "rip={:#x} rsi={:#x} rsp={:#x} rbx={:#x}",
        regs.rip, regs.rsi, regs.rsp, regs.rbx
    )));
    assert!(table.contains(&format!(
        "  hash         {}: {}",
        report.hash.path.name(),
        report.hash.why
    )));
    assert_eq!(report.console.port, None);
    assert_eq!(report.on_failure, purgatory_abi::FailurePolicy::Reset);
    assert_eq!(report.purgatory.start, report.segments[2].start);
    assert!(
        report
            .segments
            .iter()
            .take(2)
            .all(|s| s.sha256.as_ref().is_some_and(|h| h.len() == 64))
    );
}

#[test]
fn refusals_name_their_cause() {
    let inputs = Inputs::new("refusals");
    let not_a_kernel = inputs.dir.join("not-a-kernel");
    std::fs::write(&not_a_kernel, vec![0u8; 0x1000]).unwrap();
    let not_a_kernel = not_a_kernel.to_str().unwrap();
    let long_cmdline = "x".repeat(2048);
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![not_a_kernel], "no boot flag 0xAA55"),
        (
            vec!["/nonexistent/vmlinuz"],
            "cannot read /nonexistent/vmlinuz",
        ),
        (
            vec![&inputs.kernel, "--purgatory-addr", "0x100000000"],
            "is not inside one System RAM range",
        ),
        (
            vec![&inputs.kernel, "--append", &long_cmdline],
            "the kernel accepts at most 2047",
        ),
    ];
    if cfg!(feature = "e2e") {
        cases.extend([
            (
                vec!["--raw", not_a_kernel, "--purgatory-addr", "0x100000000"],
                "is not inside one System RAM range",
            ),
            (
                vec!["--raw", not_a_kernel, "--corrupt-after-digest", "kernel"],
                "no segment named \"kernel\"",
            ),
        ]);
    }
    for (args, needle) in cases {
        let mut full = vec![
            "--dry-run",
            "--sysfs",
            &inputs.sysfs,
            "--memmap",
            &inputs.map,
        ];
        full.extend_from_slice(&args);
        for json in [false, true] {
            if json {
                full.push("--json");
            }
            let out = kexec_load(&full);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{full:?}: {stderr}");
            assert!(
                stderr.contains(needle),
                "{full:?}: {needle:?} missing from {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

/// A dry run's plan is its only output: when stdout cannot take it, that is
/// an error in words, not a panic.
#[test]
fn an_unwritable_stdout_is_an_error() {
    let inputs = Inputs::new("dev-full");
    for json in [&[][..], &["--json"]] {
        let mut args = vec![
            "--dry-run",
            "--sysfs",
            &inputs.sysfs,
            "--memmap",
            &inputs.map,
            &inputs.kernel,
        ];
        args.extend_from_slice(json);
        let out = Command::new(env!("CARGO_BIN_EXE_kexec-load"))
            .args(&args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot print the plan"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `-p --dry-run` on what two QEMU guests showed: the table's rows and the
/// JSON line agree, every segment is in the reservation, and the crash part
/// names the reservation, the headers and the notes.
#[test]
fn a_crash_kernel_s_dry_run() {
    let inputs = Inputs::new("crash");
    for (machine, reservation) in [
        (QEMU_LOW, (0x6f00_0000, 0x7f00_0000)),
        (QEMU_HIGH, (0x1_af00_0000, 0x1_bf00_0000)),
    ] {
        let proc = inputs.dir.join(format!("proc-{:x}", reservation.0));
        write_crash_fixture(&proc, Path::new(&inputs.sysfs), &machine);
        let proc = proc.to_str().unwrap();
        let args = [
            "-p",
            "--procfs",
            proc,
            &inputs.kernel,
            "--append",
            "console=ttyS0 nr_cpus=1",
            "--no-console",
        ];
        let table = inputs.dry_run(&args);
        let json = inputs.dry_run(&[&args[..], &["--json"]].concat());
        let report = PlanReport::from_line(json.trim()).unwrap();
        let crash = report.crash.as_ref().unwrap();
        assert_eq!(
            (crash.reservation.start, crash.reservation.end),
            reservation
        );
        assert_eq!(crash.notes.len(), 2);
        let rows = report_rows(&report);
        assert_eq!(rows, table_rows(&table));
        assert_eq!(rows[0].0, "elfcorehdr");
        assert!(
            rows.iter()
                .all(|r| r.1 >= reservation.0 && r.2 <= reservation.1),
            "{table}"
        );
        for needle in [
            "  crash        reservation ",
            &format!("  crash        {}: 2 CPU note(s)", crash.param),
            "the capture kernel's memory map",
            "dry run, nothing loaded",
        ] {
            assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
        }
    }
}

#[test]
fn a_crash_kernel_s_refusals_name_their_cause() {
    let inputs = Inputs::new("crash-refusals");
    let proc = inputs.dir.join("proc");
    write_crash_fixture(&proc, Path::new(&inputs.sysfs), &QEMU_LOW);
    let proc_arg = proc.to_str().unwrap().to_owned();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "-p",
            "--dry-run",
            "--sysfs",
            &inputs.sysfs,
            "--procfs",
            &proc_arg,
        ];
        args.push(&inputs.kernel);
        args.extend_from_slice(extra);
        let out = kexec_load(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    };
    let big = inputs.dir.join("big-initrd");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let stderr = run(&["--initrd", big.to_str().unwrap()]);
    assert!(
        stderr.contains("the reservation has 0x10000000 bytes (256 MiB)")
            && stderr.contains("the initrd"),
        "{stderr}"
    );
    let without = QEMU_IOMEM_LOW.replace("Crash kernel", "System RAM tail");
    std::fs::write(proc.join("iomem"), without).unwrap();
    assert!(run(&[]).contains("boot this kernel with crashkernel="));
    let hidden: String = QEMU_IOMEM_LOW
        .lines()
        .map(|line| {
            let name = line.split_once(" : ").unwrap().1;
            let indent = line.len() - line.trim_start().len();
            format!("{}00000000-00000000 : {name}\n", " ".repeat(indent))
        })
        .collect();
    std::fs::write(proc.join("iomem"), hidden).unwrap();
    assert!(run(&[]).contains("needs root"));
    std::fs::remove_file(proc.join("kcore")).unwrap();
    std::fs::write(proc.join("iomem"), QEMU_IOMEM_LOW).unwrap();
    assert!(run(&[]).contains("proc/kcore"));
}

/// A UEFI boot's sysfs tree (its memory map included) and a kernel built
/// with EFI kexec support.
struct Uefi {
    dir: PathBuf,
    fixture: SysfsFixture,
    kernel: String,
}

impl Uefi {
    fn new(name: &str) -> Self {
        let dir = scratch_dir(&format!("cli-uefi-{name}"));
        let fixture = SysfsFixture::uefi(&dir.join("sysfs"));
        let mut image = synthetic_bzimage(0x3000);
        image[0x236] |= 1 << 4; // XLF_EFI_KEXEC
        let kernel = dir.join("vmlinuz");
        std::fs::write(&kernel, image).unwrap();
        let kernel = kernel.to_str().unwrap().to_owned();
        Self {
            dir,
            fixture,
            kernel,
        }
    }

    /// `kexec-load --dry-run --sysfs FIXTURE KERNEL ARGS…`.
    fn run(&self, args: &[&str]) -> Output {
        let sysfs = self.fixture.root.to_str().unwrap();
        let mut full = vec!["--dry-run", "--sysfs", sysfs, &self.kernel, "--no-console"];
        full.extend_from_slice(args);
        kexec_load(&full)
    }
}

impl Drop for Uefi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_uefi_dry_run_shows_what_the_next_kernel_inherits() {
    let uefi = Uefi::new("dry-run");
    let out = uefi.run(&[]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}{}", text(&out.stderr));
    for needle in [
        "firmware     uefi: EFI handed over (EL64, system table 0x7fbee018",
        "efi memmap   0x",
        "12 runtime descriptor(s) of 48 bytes (version 1)",
        &format!("acpi rsdp    {OVMF_ACPI20:#x} (from the EFI configuration table"),
        "e820         16 entries, all in the zero page",
        "SETUP_EFI       96 bytes",
        "SETUP_RNG_SEED  32 bytes",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }
    let out = uefi.run(&["--json"]);
    let report = PlanReport::from_line(&text(&out.stdout)).unwrap();
    let boot = report.boot.unwrap();
    let kinds: Vec<_> = boot.setup_data.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["SETUP_EFI", "SETUP_RNG_SEED"]);
    let params = report
        .segments
        .iter()
        .find(|s| s.name == "boot-params")
        .unwrap();
    assert!(params.verified);
    for node in &boot.setup_data {
        assert!(params.start < node.addr && node.addr + 16 + u64::from(node.len) <= params.end);
    }
    // --noefi: the same system, a BIOS-style zero page.
    let out = uefi.run(&["--noefi"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("firmware     uefi: no EFI (--noefi)"),
        "{table}"
    );
    assert!(!table.contains("SETUP_EFI"), "{table}");
}

#[test]
fn uefi_refusals_name_their_cause() {
    let uefi = Uefi::new("refusals");
    uefi.fixture.set_descriptor_version(2);
    let out = uefi.run(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("descriptors are version 2"), "{stderr}");
    assert!(uefi.run(&["--noefi"]).status.success());
    uefi.fixture.set_descriptor_version(1);
    let map = uefi.fixture.root.join("firmware/efi/runtime-map");
    std::fs::remove_dir_all(&map).unwrap();
    let out = uefi.run(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("runtime-map does not exist")
            && stderr.contains("CONFIG_EFI_RUNTIME_MAP=y"),
        "{stderr}"
    );
}

#[test]
fn a_long_memory_map_is_passed_whole() {
    let uefi = Uefi::new("e820-ext");
    uefi.fixture.fragment_memmap(200);
    let out = uefi.run(&[]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}{}", text(&out.stderr));
    assert!(
        table.contains("e820         200 entries: 128 in the zero page, 72 in SETUP_E820_EXT"),
        "{table}"
    );
    assert!(table.contains("SETUP_E820_EXT  1440 bytes"), "{table}");
}

/// A locked-down kernel refuses kexec_load: the tool says so before anything
/// else, with its own exit status, and a dry run still shows its plan.
#[test]
fn a_locked_down_kernel_is_named_with_its_own_exit_status() {
    let uefi = Uefi::new("lockdown");
    uefi.fixture.lock("integrity");
    let out = uefi.run(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(text(&out.stdout).contains("SETUP_EFI"), "the plan is shown");
    for needle in ["locked down (integrity)", "kexec_file_load", "kernel/"] {
        assert!(stderr.contains(needle), "{needle:?} missing from {stderr}");
    }
    // A real load is refused first: before the image is even read (so no
    // test can reach the system call).
    let sysfs = uefi.fixture.root.to_str().unwrap();
    let out = kexec_load(&["--sysfs", sysfs, "/nonexistent/vmlinuz"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("/nonexistent"), "{stderr}");
}

#[test]
fn usage_errors_are_clap_errors() {
    let out = kexec_load(&["--entry-offset", "4", "x"]);
    assert_eq!(out.status.code(), Some(2));
    // Without the e2e feature the option does not exist; with it, it needs --raw.
    let needle = if cfg!(feature = "e2e") {
        "--raw"
    } else {
        "--entry-offset"
    };
    assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
}

#[cfg(feature = "e2e")]
mod e2e {
    use super::*;

    fn raw_args<'a>(payload: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "--raw",
            payload,
            "--entry-offset",
            "0x10",
            "--purgatory-addr",
            "random",
            "--seed",
            "42",
        ];
        args.extend_from_slice(extra);
        args
    }

    #[test]
    fn dry_run_prints_the_plan() {
        let inputs = Inputs::new("dry-run");
        let payload = inputs.dir.join("payload.bin");
        std::fs::write(&payload, vec![0x90u8; 0x1800]).unwrap();
        let args = raw_args(payload.to_str().unwrap(), &[]);
        let stdout = inputs.dry_run(&args);
        for needle in [
            "payload      0x0000000001000000",
            "expectation  0x0000000000010000",
            "purgatory    0x",
            "no (holds the digest)",
            "digest       sha256 ",
            "random fit (seed 42)",
            "rip=0x1000010",
            "dry run, nothing loaded",
        ] {
            assert!(
                stdout.contains(needle),
                "{needle:?} missing from:\n{stdout}"
            );
        }
        // The same seed gives the same plan.
        assert_eq!(inputs.dry_run(&args), stdout);
    }

    #[test]
    fn json_carries_the_corruption() {
        let inputs = Inputs::new("json-corrupt");
        let payload = inputs.dir.join("payload.bin");
        std::fs::write(&payload, vec![0x90u8; 0x1800]).unwrap();
        let corrupt = ["--corrupt-after-digest", "payload+0x20"];
        let table = inputs.dry_run(&raw_args(payload.to_str().unwrap(), &corrupt));
        let json = inputs.dry_run(&raw_args(
            payload.to_str().unwrap(),
            &[&corrupt[..], &["--json"]].concat(),
        ));
        assert_eq!(json.lines().count(), 1, "{json}");
        let report = PlanReport::from_line(&json).unwrap();
        let corruption = report.corruption.unwrap();
        assert_eq!(
            (
                corruption.segment.as_str(),
                corruption.region,
                corruption.address
            ),
            ("payload", 0, 0x100_0020)
        );
        assert!(table.contains(&format!(
            "TEST: flipped the byte at {:#x} (segment 0",
            corruption.address
        )));
        assert_eq!(report.entry_regs.rip, 0x100_0010);
        assert_eq!(report.entry_regs.rsi, report.segments[1].start);
    }
}
