//! `cargo xtask build`: the one way the purgatory is built.
//!
//! Every flag lives in [`RUSTFLAGS`] (with [`PURGATORY_RUSTFLAGS`] or
//! [`PROBE_RUSTFLAGS`]), [`purgatory_rustflags`] and [`PROFILE`]; whatever the caller's
//! environment says about rustflags or wrappers is scrubbed, so the bytes depend
//! on the sources and the pinned toolchain only.

use crate::cmd::{self, cargo, project_root};
use anyhow::{Context, Result, bail};
use purgatory_abi::{
    ENTRY_SYMBOL, HOSTED_ENTRIES, PATCHED_SYMBOLS, STACK_END_SYMBOL, VERIFY_SYMBOL,
};
use purgatory_host::Image;
use std::path::PathBuf;
use std::process::Command;

pub const TARGET: &str = "x86_64-unknown-none";
/// The profile in the root Cargo.toml: abort on panic, one codegen unit.
const PROFILE: &str = "purgatory";

/// Each flag of a bare-metal image that runs at any address and is never
/// relocated (the purgatory, and the register probe it enters), and why.
const RUSTFLAGS: &[&str] = &[
    // The target defaults to the kernel code model (top 2 GiB only); the
    // image runs at any address, so small-model RIP-relative code.
    "-Ccode-model=small",
    "-Crelocation-model=pie",
    // With RELRO off rustc calls memcpy & co. directly instead of through GOT
    // slots, each of which would need a load-time relocation.
    "-Crelro-level=off",
    "-Cforce-unwind-tables=no",
    "-Cdebuginfo=0",
    "-Clink-arg=--orphan-handling=error",
    "-Clink-arg=-zmax-page-size=4096",
    "-Clink-arg=--build-id=none",
];

/// What the purgatory adds to [`RUSTFLAGS`].
const PURGATORY_RUSTFLAGS: &[&str] = &[
    // Relative, so that no absolute path reaches the build (cargo runs rustc
    // and the linker in the workspace root).
    "-Clink-arg=-Tlinker.ld",
    // SSE is off when the purgatory runs (CR4.OSFXSR = 0): only the portable
    // SHA-256 backend may be compiled in.
    "--cfg=sha2_backend=\"soft\"",
];

/// What the register probe (`tests/probe`, for `cargo xtask e2e`) adds to
/// [`RUSTFLAGS`]: its own linker script.
const PROBE_RUSTFLAGS: &[&str] = &["-Clink-arg=-Ttests/probe/probe.ld"];

/// The probe's package; its binary needs the `bare-metal` feature, which keeps
/// host commands to its library.
pub const PROBE_PACKAGE: &str = "register-probe";

/// The e2e guest programs (`kexec-load`, the test `/init`) run from an
/// initramfs that holds no libraries: static glibc binaries (static-pie).
pub const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";
const GUEST_RUSTFLAGS: &[&str] = &["-Ctarget-feature=+crt-static"];

/// Environment that would change the build behind our back: extra rustflags,
/// compiler wrappers (clippy sets one), profile overrides.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
];

/// Where the checked artifact goes.
pub fn artifact_path() -> PathBuf {
    project_root().join("target/purgatory/purgatory.elf")
}

/// The copy the host library embeds; committed, so that the library builds
/// without this target (see `host/src/embedded.rs`).
pub const EMBEDDED_PATH: &str = "host/purgatory.elf";

pub fn run() -> Result<PathBuf> {
    ensure_target_installed(TARGET)?;
    eprintln!("building the purgatory for {TARGET} (profile `{PROFILE}`)");
    cmd::run(&mut purgatory_cargo("build"))?;
    let built = project_root().join(format!("target/{TARGET}/{PROFILE}/purgatory"));
    let bytes = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let image = Image::parse(&bytes)
        .map_err(|err| anyhow::anyhow!("the built purgatory breaks the contract:\n{err}"))?;
    let artifact = artifact_path();
    std::fs::create_dir_all(artifact.parent().expect("artifact has a parent"))?;
    std::fs::write(&artifact, &bytes).with_context(|| format!("writing {}", artifact.display()))?;
    refresh_embedded_copy(&bytes)?;
    print_summary(&artifact, bytes.len(), &image);
    Ok(artifact)
}

/// `cargo <subcommand>` on the purgatory with its flags and a scrubbed
/// environment (`build`, or `clippy` to lint exactly what is built).
pub fn purgatory_cargo(subcommand: &str) -> Command {
    bare_metal_cargo(subcommand, "purgatory", &[], &purgatory_rustflags())
}

/// The same for the register probe.
pub fn probe_cargo(subcommand: &str) -> Command {
    let flags: Vec<_> = RUSTFLAGS.iter().chain(PROBE_RUSTFLAGS).copied().collect();
    bare_metal_cargo(subcommand, PROBE_PACKAGE, &["bare-metal"], &flags)
}

/// Builds the register probe and returns its ELF. The probe is a test
/// payload, not a shipped artifact, so it is not copied anywhere.
pub fn build_probe() -> Result<PathBuf> {
    ensure_target_installed(TARGET)?;
    eprintln!("building the register probe for {TARGET} (profile `{PROFILE}`)");
    cmd::run(&mut probe_cargo("build"))?;
    Ok(project_root().join(format!("target/{TARGET}/{PROFILE}/{PROBE_PACKAGE}")))
}

/// Builds `packages` with `features` (`package/feature`) as static binaries
/// for the e2e guests (release profile) and returns the directory they are in.
pub fn build_guest_programs(packages: &[&str], features: &[&str]) -> Result<PathBuf> {
    ensure_target_installed(GUEST_TARGET)?;
    let mut cmd = scrubbed_cargo(GUEST_RUSTFLAGS);
    cmd.args(["build", "--release", "--target", GUEST_TARGET]);
    for package in packages {
        cmd.args(["--package", package]);
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    cmd::run(&mut cmd)?;
    Ok(project_root().join(format!("target/{GUEST_TARGET}/release")))
}

/// `cargo <subcommand>` on one bare-metal package of this workspace.
fn bare_metal_cargo(
    subcommand: &str,
    package: &str,
    features: &[&str],
    rustflags: &[impl AsRef<str>],
) -> Command {
    let mut cmd = scrubbed_cargo(rustflags);
    cmd.args([
        subcommand,
        "--package",
        package,
        "--target",
        TARGET,
        "--profile",
        PROFILE,
    ]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    cmd
}

/// `cargo` with exactly `rustflags` and none of the caller's rustflags,
/// wrappers or profile overrides.
pub fn scrubbed_cargo(rustflags: &[impl AsRef<str>]) -> Command {
    let mut cmd = cargo();
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        if var.starts_with("CARGO_PROFILE_")
            || (var.starts_with("CARGO_TARGET_") && var.ends_with("_RUSTFLAGS"))
        {
            cmd.env_remove(&*var);
        }
    }
    // CARGO_ENCODED_RUSTFLAGS outranks every other rustflags source.
    let encoded: Vec<_> = rustflags.iter().map(AsRef::as_ref).collect();
    cmd.env("CARGO_ENCODED_RUSTFLAGS", encoded.join("\x1f"));
    cmd
}

/// [`RUSTFLAGS`] and [`PURGATORY_RUSTFLAGS`], then one `--undefined` per
/// hosted entry: nothing in the image calls them, so `--gc-sections` would
/// otherwise drop them.
fn purgatory_rustflags() -> Vec<String> {
    let keep = HOSTED_ENTRIES
        .iter()
        .map(|name| format!("-Clink-arg=--undefined={name}"));
    RUSTFLAGS
        .iter()
        .chain(PURGATORY_RUSTFLAGS)
        .map(|flag| flag.to_string())
        .chain(keep)
        .collect()
}

fn refresh_embedded_copy(bytes: &[u8]) -> Result<()> {
    let path = project_root().join(EMBEDDED_PATH);
    if std::fs::read(&path).ok().as_deref() != Some(bytes) {
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("refreshed {EMBEDDED_PATH}, the copy the host library embeds: commit it");
    }
    Ok(())
}

fn ensure_target_installed(target: &str) -> Result<()> {
    let mut list = Command::new("rustup");
    list.current_dir(project_root())
        .args(["target", "list", "--installed"]);
    let installed = cmd::output(&mut list)
        .with_context(|| format!("rustup is needed to install the {target} target"))?;
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    eprintln!("installing the {target} target with rustup");
    let mut add = Command::new("rustup");
    add.current_dir(project_root())
        .args(["target", "add", target]);
    cmd::run(&mut add)?;
    if !cmd::output(&mut list)?
        .lines()
        .any(|line| line.trim() == target)
    {
        bail!("rustup did not install {target}");
    }
    Ok(())
}

fn print_summary(artifact: &std::path::Path, file_len: usize, image: &Image) {
    let root = project_root();
    let shown = artifact.strip_prefix(&root).unwrap_or(artifact);
    println!("purgatory: {}", shown.display());
    println!(
        "  size      {file_len} bytes in the file; segment 0x0..{:#x} ({} bytes file-backed, align {:#x})",
        image.mem_size(),
        image.segment().len(),
        image.align()
    );
    println!("  entry     {:#x} ({ENTRY_SYMBOL})", image.entry());
    let names = PATCHED_SYMBOLS
        .iter()
        .map(|s| s.name)
        .chain([STACK_END_SYMBOL, VERIFY_SYMBOL]);
    let width = names.clone().map(str::len).max().unwrap_or(0);
    for name in names {
        if let Some(symbol) = image.symbol(name) {
            println!(
                "  symbol    {name:<width$} {:#07x}  {} bytes",
                symbol.offset, symbol.size
            );
        }
    }
    println!("  0 relocations, 0 undefined symbols (contract check passed)");
}
