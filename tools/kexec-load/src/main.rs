//! The `kexec-load` command: checks that the kernel is not locked down, reads
//! the inputs and what the running system hands over, builds the plan
//! ([`kexec_load::plan`]), shows it (a table, or with `--json` one JSON line),
//! checks the kernel's rules and loads. Errors go to stderr in words; a
//! locked-down kernel has an exit status of its own.

mod cli;

use clap::Parser;
use cli::Args;
use kexec_load::crash::{CrashError, CrashSources};
use kexec_load::handover::{self, Handover, HandoverError};
use kexec_load::lockdown::{self, EXIT_LOCKED_DOWN, LockedDown};
use kexec_load::request::{Payload, Request};
use kexec_load::sysfs::{Sysfs, SysfsError};
use kexec_load::{bzimage, console, kexec, memmap, plan, print};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            say(&mut io::stderr(), &format!("error: {err}"));
            err.exit_code()
        }
    }
}

/// Every way the tool fails, each naming its cause.
#[derive(Debug)]
enum Error {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    BzImage {
        path: PathBuf,
        error: bzimage::BzImageError,
    },
    NoImage,
    /// The lockdown state cannot be read.
    Lockdown(SysfsError),
    /// `kexec_load` would be refused.
    LockedDown(LockedDown),
    Memmap(memmap::MemmapError),
    Crash(CrashError),
    Handover(HandoverError),
    Plan(plan::PlanError),
    #[cfg(feature = "e2e")]
    Corrupt(plan::CorruptError),
    #[cfg(feature = "e2e")]
    TestRegion(plan::TestRegionError),
    /// The plan could not be written to stdout (a dry run's only output).
    Output(io::Error),
    Rules(Vec<String>),
    Kexec(kexec::KexecError),
}

/// What a file that is no bzImage might be meant as.
#[cfg(feature = "e2e")]
const NOT_A_BZIMAGE_HINT: &str = " (use --raw for a flat payload)";
#[cfg(not(feature = "e2e"))]
const NOT_A_BZIMAGE_HINT: &str = "";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Self::BzImage { path, error } => {
                write!(f, "{}: {error}{NOT_A_BZIMAGE_HINT}", path.display())
            }
            Self::NoImage => write!(f, "no image given"),
            Self::Lockdown(error) => write!(f, "the lockdown state: {error}"),
            Self::LockedDown(locked) => write!(f, "{locked}"),
            Self::Memmap(error) => write!(f, "{error}"),
            Self::Crash(error) => write!(f, "crash kernel: {error}"),
            Self::Handover(error) => write!(f, "{error}"),
            Self::Plan(error) => write!(f, "{error}"),
            #[cfg(feature = "e2e")]
            Self::Corrupt(error) => write!(f, "{error}"),
            #[cfg(feature = "e2e")]
            Self::TestRegion(error) => write!(f, "{error}"),
            Self::Output(error) => write!(f, "cannot print the plan: {error}"),
            Self::Rules(violations) => {
                write!(f, "the segment list breaks the kernel's rules:")?;
                violations.iter().try_for_each(|v| write!(f, "\n  {v}"))
            }
            Self::Kexec(error) => write!(f, "{error}"),
        }
    }
}

impl Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::LockedDown(_) => ExitCode::from(EXIT_LOCKED_DOWN),
            _ => ExitCode::FAILURE,
        }
    }
}

/// Refuses what `kexec_load` would refuse on a locked-down kernel.
fn refuse(locked: &Option<LockedDown>) -> Result<(), Error> {
    locked
        .clone()
        .map_or(Ok(()), |locked| Err(Error::LockedDown(locked)))
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|error| Error::Read {
        path: path.to_owned(),
        error,
    })
}

fn run(args: &Args) -> Result<(), Error> {
    let sysfs = Sysfs::new(&args.sysfs);
    let locked = lockdown::read(&sysfs.lockdown()).map_err(Error::Lockdown)?;
    if args.unload {
        refuse(&locked)?;
        kexec::unload(args.load_panic).map_err(Error::Kexec)?;
        let what = if args.load_panic {
            "unloaded the crash kernel"
        } else {
            "unloaded"
        };
        say(&mut io::stdout(), what);
        return Ok(());
    }
    if args.exec_loaded {
        return Err(Error::Kexec(kexec::reboot_into_loaded_image()));
    }
    if !args.dry_run {
        refuse(&locked)?;
    }
    let image_path = args.image.as_deref().ok_or(Error::NoImage)?;
    let image_bytes = read(image_path)?;
    let (map, crash) = memory(args, &sysfs)?;
    let console = choose_console(args, &sysfs);
    let warnings = console_warnings(&console);
    let payload = payload(args, image_path, &image_bytes)?;
    let handover = if matches!(payload, Payload::BzImage { .. }) {
        handover::read(&sysfs, args.noefi, handover::rng_seed()).map_err(Error::Handover)?
    } else {
        Handover::default()
    };
    let request = Request {
        payload,
        purgatory_addr: args.purgatory_addr,
        seed: args.seed.unwrap_or_else(clock_seed),
        verify: !args.no_verify,
        host_5level: running_with_5level_paging(),
        purgatory_flags: if args.software_sha256 {
            purgatory_abi::FLAG_SOFTWARE_SHA256
        } else {
            0
        },
        cpuid: purgatory_abi::Cpuid::read(),
        console,
        on_failure: args.on_failure,
        handover,
        crash,
    };
    let plan = plan::build(request, &map).map_err(Error::Plan)?;
    #[cfg(feature = "e2e")]
    let plan = after_digest(plan, args)?;
    show(&plan, warnings, args)?;
    load(&plan, &map, args)?;
    // A dry run shows the plan, then that a locked-down kernel refuses it.
    refuse(&locked)
}

/// The RAM segments may go in, and with `-p` what the kernel says about its
/// reservation (the reservation is part of `/proc/iomem`'s System RAM).
fn memory(
    args: &Args,
    sysfs: &Sysfs,
) -> Result<(Vec<memmap::MemoryRange>, Option<CrashSources>), Error> {
    if !args.load_panic {
        let dir = args.memmap.clone().unwrap_or_else(|| sysfs.memmap());
        return Ok((memmap::read(&dir).map_err(Error::Memmap)?, None));
    }
    let sources = CrashSources::read(&args.procfs, sysfs).map_err(Error::Crash)?;
    Ok((sources.iomem.ram_ranges(), Some(sources)))
}

/// The image as a bzImage with its initrd and command line, or with `--raw`
/// (the `e2e` feature) as a flat payload.
fn payload<'a>(args: &Args, path: &Path, bytes: &'a [u8]) -> Result<Payload<'a>, Error> {
    #[cfg(feature = "e2e")]
    if args.test.raw {
        return Ok(Payload::Raw {
            bytes,
            entry_offset: args.test.entry_offset,
            load_addr: args.test.load_addr,
            kexec_idt: running_kexec_idt(),
        });
    }
    let image = bzimage::BzImage::parse(bytes).map_err(|error| Error::BzImage {
        path: path.to_owned(),
        error,
    })?;
    Ok(Payload::BzImage {
        image,
        initrd: args.initrd.as_deref().map(read).transpose()?,
        cmdline: cmdline(args)?,
    })
}

/// `--corrupt-after-digest` and `--test-region`, if given.
#[cfg(feature = "e2e")]
fn after_digest(mut plan: plan::Plan, args: &Args) -> Result<plan::Plan, Error> {
    if let Some(spec) = &args.test.corrupt_after_digest {
        plan.corrupt(&spec.segment, spec.offset)
            .map_err(Error::Corrupt)?;
    }
    if let Some(spec) = args.test.test_region {
        plan.add_test_region(spec.start, spec.len)
            .map_err(Error::TestRegion)?;
    }
    Ok(plan)
}

fn choose_console(args: &Args, sysfs: &Sysfs) -> console::Console {
    match (args.no_console, args.console) {
        (true, _) => console::Console::off("--no-console"),
        (false, Some(port)) => console::given(port),
        (false, None) => console::detect(sysfs.root()),
    }
}

/// Printed on stderr at once, and carried in the JSON plan.
fn console_warnings(console: &console::Console) -> Vec<String> {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let warnings: Vec<String> = console::baud_warning(console, &cmdline)
        .into_iter()
        .collect();
    for warning in &warnings {
        say(&mut io::stderr(), warning);
    }
    warnings
}

/// The plan on stdout: the table, or with `--json` one line. Only a dry run
/// fails when it cannot be written; a load goes on with a warning.
fn show(plan: &plan::Plan, warnings: Vec<String>, args: &Args) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    let written = if args.json {
        plan.report(warnings)
            .to_line()
            .map_err(io::Error::from)
            .and_then(|line| writeln!(out, "{line}"))
    } else {
        print::print(plan, &mut out)
    };
    match written.and_then(|()| out.flush()) {
        Err(error) if args.dry_run => Err(Error::Output(error)),
        Err(error) => {
            say(
                &mut io::stderr(),
                &format!("warning: cannot print the plan: {error}"),
            );
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Checks the kernel's rules, then unless `--dry-run` loads and with
/// `--exec` reboots.
fn load(plan: &plan::Plan, map: &[memmap::MemoryRange], args: &Args) -> Result<(), Error> {
    let violations = kexec::plan_violations(plan, map);
    if !violations.is_empty() {
        return Err(Error::Rules(violations));
    }
    if args.dry_run {
        progress(args, "dry run, nothing loaded");
        return Ok(());
    }
    kexec::load(plan, map).map_err(Error::Kexec)?;
    if plan.crash.is_some() {
        let count = plan.segments.len();
        let loaded = format!(
            "loaded {count} segments as the crash kernel: a panic now boots it through the purgatory"
        );
        progress(args, &loaded);
        return Ok(());
    }
    progress(args, &format!("loaded {} segments", plan.segments.len()));
    if args.exec {
        progress(args, "rebooting into the loaded image");
        return Err(Error::Kexec(kexec::reboot_into_loaded_image()));
    }
    Ok(())
}

/// A progress line: on stdout after the table, on stderr when stdout
/// carries only the JSON plan.
fn progress(args: &Args, text: &str) {
    if args.json {
        say(&mut io::stderr(), text);
    } else {
        say(&mut io::stdout(), text);
    }
}

/// A `kexec-load: ` line; a stream that cannot take it does not stop the
/// tool (println! would panic).
fn say(stream: &mut impl Write, text: &str) {
    let _ = writeln!(stream, "kexec-load: {text}");
}

/// `--reuse-cmdline`'s text, then `--append`'s.
fn cmdline(args: &Args) -> Result<String, Error> {
    let mut parts = Vec::new();
    if args.reuse_cmdline {
        let path = Path::new("/proc/cmdline");
        let text = read(path)?;
        parts.push(String::from_utf8_lossy(&text).trim().to_owned());
    }
    parts.extend(args.append.clone());
    Ok(parts.join(" "))
}

/// Linux clears the `la57` CPU flag when it does not use 5-level paging, so
/// the flag in /proc/cpuinfo means the running kernel uses it.
fn running_with_5level_paging() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .find(|line| line.starts_with("flags"))
            .is_some_and(|flags| flags.split_whitespace().any(|flag| flag == "la57"))
    })
}

/// The IDT the running kernel's kexec leaves, by its release.
#[cfg(feature = "e2e")]
fn running_kexec_idt() -> u64 {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    e2e_protocol::tables::kexec_idt(release.trim())
}

/// A seed when none is given; printed in the plan, so a run can be repeated.
fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
