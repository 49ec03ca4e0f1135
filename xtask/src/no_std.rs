//! The `no_std` loader (`tests/no-std-loader`): builds it for bare metal as a
//! plain user would (no rustflags), proves its code holds no SIMD instruction
//! (a kernel that has not enabled SSE runs it), and measures the loader
//! core's size against a baseline build without the loader's calls.

use crate::build::{TARGET, scrubbed_cargo};
use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use elf_edit::Elf;

const PACKAGE: &str = "no-std-loader";

/// What a build of the example holds.
struct Build {
    text: u64,
    rodata: u64,
}

pub fn run() -> Result<()> {
    eprintln!("building the no_std loader for {TARGET} (no rustflags, as a user would)");
    let full = build(false)?;
    let baseline = build(true)?;
    println!(
        "no_std loader: the loader core adds {} bytes of code (.text {} with it, {} without) \
         and {} bytes of read-only data (.rodata, the {}-byte embedded purgatory included)",
        full.text.saturating_sub(baseline.text),
        full.text,
        baseline.text,
        full.rodata.saturating_sub(baseline.rodata),
        purgatory_host::PURGATORY_ELF.len(),
    );
    Ok(())
}

/// Builds the example (the `baseline` feature when asked), checks its code
/// for SIMD instructions, and returns its section sizes.
fn build(baseline: bool) -> Result<Build> {
    let mut cargo = scrubbed_cargo(&[] as &[&str]);
    cargo.args([
        "build",
        "--release",
        "--package",
        PACKAGE,
        "--target",
        TARGET,
    ]);
    if baseline {
        cargo.args(["--features", "baseline"]);
    }
    cmd::run(&mut cargo)?;
    let path = project_root().join(format!("target/{TARGET}/release/{PACKAGE}"));
    let elf =
        Elf::parse(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            .with_context(|| format!("{} is not an ELF64 file", path.display()))?;
    let text = elf.section(".text")?;
    let simd = purgatory_check::simd_instructions(
        ".text",
        elf.section_bytes(".text")?,
        text.header.sh_addr,
    );
    if let Some(first) = simd.first() {
        bail!(
            "{} has {} SIMD instruction(s), which fault where SSE is off; the first: {first}",
            path.display(),
            simd.len()
        );
    }
    Ok(Build {
        text: text.header.sh_size,
        rodata: elf.section(".rodata")?.header.sh_size,
    })
}
