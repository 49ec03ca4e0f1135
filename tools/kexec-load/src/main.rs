//! `kexec-load`: loads an x86_64 bzImage through `kexec_load(2)` with the
//! relocation-free purgatory of this workspace, and reboots into it.
//!
//! The work is split so that everything but the final system calls runs
//! without privilege: [`console`] picks the purgatory's console, [`bzimage`] validates the kernel, [`memmap`] reads the
//! firmware map, [`layout`] places segments, [`zeropage`] builds the boot
//! parameters, [`plan`] patches the purgatory and assembles the segment list,
//! and [`kexec`] checks the kernel's rules and makes the calls.

mod bzimage;
mod cli;
mod console;
mod kexec;
mod layout;
mod memmap;
mod plan;
mod zeropage;

use clap::Parser;
use cli::Args;
use plan::{Payload, Request};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kexec-load: error: {err}");
            ExitCode::FAILURE
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
    Memmap(memmap::MemmapError),
    Plan(plan::PlanError),
    Option(String),
    Rules(Vec<String>),
    Kexec(kexec::KexecError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Self::BzImage { path, error } => write!(
                f,
                "{}: {error} (use --raw for a flat payload)",
                path.display()
            ),
            Self::Memmap(error) => write!(f, "{error}"),
            Self::Plan(error) => write!(f, "{error}"),
            Self::Option(text) => write!(f, "{text}"),
            Self::Rules(violations) => {
                write!(f, "the segment list breaks the kernel's rules:")?;
                violations.iter().try_for_each(|v| write!(f, "\n  {v}"))
            }
            Self::Kexec(error) => write!(f, "{error}"),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|error| Error::Read {
        path: path.to_owned(),
        error,
    })
}

fn run(args: Args) -> Result<(), Error> {
    if args.unload {
        kexec::unload().map_err(Error::Kexec)?;
        println!("kexec-load: unloaded");
        return Ok(());
    }
    if args.exec_loaded {
        return Err(Error::Kexec(kexec::reboot_into_loaded_image()));
    }
    let Some(image_path) = &args.image else {
        return Err(Error::Option("no image given".into()));
    };
    let image_bytes = read(image_path)?;
    let map = memmap::read(&args.memmap).map_err(Error::Memmap)?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let payload = if args.raw {
        Payload::Raw {
            bytes: &image_bytes,
            entry_offset: args.entry_offset,
            load_addr: args.load_addr,
        }
    } else {
        let image = bzimage::BzImage::parse(&image_bytes).map_err(|error| Error::BzImage {
            path: image_path.clone(),
            error,
        })?;
        let initrd = args.initrd.as_deref().map(read).transpose()?;
        Payload::BzImage {
            image,
            initrd,
            cmdline: cmdline(&args)?,
        }
    };
    let console = match (args.no_console, args.console) {
        (true, _) => console::Console::off("--no-console"),
        (false, Some(port)) => console::given(port),
        (false, None) => console::detect(Path::new("/sys")),
    };
    if let Some(warning) = console::baud_warning(
        &console,
        &std::fs::read_to_string("/proc/cmdline").unwrap_or_default(),
    ) {
        eprintln!("kexec-load: {warning}");
    }
    let request = Request {
        payload,
        purgatory_addr: args.purgatory_addr,
        seed,
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
    };
    let mut plan = plan::build(request, &map).map_err(Error::Plan)?;
    let corruption = args
        .corrupt_after_digest
        .as_deref()
        .map(|spec| {
            let (name, offset) = cli::parse_corruption(spec).map_err(Error::Option)?;
            plan.corrupt(&name, offset).map_err(Error::Option)
        })
        .transpose()?;

    let mut out = std::io::stdout().lock();
    let _ = plan.print(&mut out);
    if let Some(line) = corruption {
        let _ = writeln!(out, "  {line}");
    }
    let _ = out.flush();
    let violations = kexec::rule_violations(&plan, &map);
    if !violations.is_empty() {
        return Err(Error::Rules(violations));
    }
    if args.dry_run {
        let _ = writeln!(out, "kexec-load: dry run, nothing loaded");
        return Ok(());
    }
    kexec::load(&plan, &map).map_err(Error::Kexec)?;
    let _ = writeln!(out, "kexec-load: loaded {} segments", plan.segments.len());
    if args.exec {
        let _ = writeln!(out, "kexec-load: rebooting into the loaded image");
        let _ = out.flush();
        drop(out);
        return Err(Error::Kexec(kexec::reboot_into_loaded_image()));
    }
    Ok(())
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

/// A seed when none is given; printed in the plan, so a run can be repeated.
fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
