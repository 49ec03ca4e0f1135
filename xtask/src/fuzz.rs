//! `cargo xtask fuzz --seconds N [--target T]`: libFuzzer (through cargo-fuzz,
//! on nightly) on each target for N seconds: `parse` feeds any bytes to the
//! checker and the loader, from a seed corpus of real and broken ELFs;
//! `differential` makes edits of the real image and fails when the checker,
//! the library and the patched kernel's own code disagree: for it the
//! patched kernel tree is prepared and named to the build (see
//! `purgatory_differential::kernel`).

use crate::build::EMBEDDED_PATH;
use crate::cmd::{self, project_root};
use crate::kernel;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Mutated copies of the real image in the seed corpus.
const MUTANTS: usize = 32;

/// A fuzz target of `fuzz/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Any bytes to the checker and the loader: a verdict or an error, never a panic.
    Parse,
    /// Edits of the real image: the checker, the library and the patched kernel agree.
    Differential,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Parse => "parse",
            Self::Differential => "differential",
        }
    }
}

pub fn run(seconds: u64, only: Option<Target>) -> Result<()> {
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    let targets = only.map_or(vec![Target::Parse, Target::Differential], |t| vec![t]);
    // One build of the fuzz workspace serves both targets: name the tree to
    // both, or the second would rebuild purgatory-differential without it.
    let tree = if targets.contains(&Target::Differential) {
        Some(kernel::patched_tree().context("preparing the patched kernel tree")?)
    } else {
        None
    };
    for target in targets {
        fuzz(target, seconds, tree.as_deref())?;
    }
    Ok(())
}

fn fuzz(target: Target, seconds: u64, tree: Option<&Path>) -> Result<()> {
    let name = target.name();
    let corpus = project_root().join("target/fuzz/corpus").join(name);
    match target {
        Target::Parse => write_seeds(&corpus)?,
        Target::Differential => write_edit_seeds(&corpus)?,
    }
    eprintln!(
        "fuzzing `{name}` for {seconds} s (the first run builds with sanitizers: a few minutes)"
    );
    let mut fuzz = nightly_cargo();
    if let Some(tree) = tree {
        fuzz.env(kernel::TREE_VAR, tree);
    }
    fuzz.current_dir(project_root().join("fuzz"))
        .args(["fuzz", "run", name])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-max_len=65536")
        .arg("-print_final_stats=1");
    cmd::run(&mut fuzz).with_context(|| {
        format!("the `{name}` fuzzer found a crash (see the artifact path above) or could not run")
    })
}

/// Edit scripts for `differential` (ten bytes an edit, see
/// `purgatory_differential::apply_edits`), deterministic so runs compare, and
/// the real image whole.
fn write_edit_seeds(corpus: &Path) -> Result<()> {
    std::fs::create_dir_all(corpus)?;
    let real = std::fs::read(project_root().join(EMBEDDED_PATH))
        .context("reading the embedded purgatory")?;
    std::fs::write(corpus.join("seed-purgatory"), &real)?;
    let mut rng = fastrand::Rng::with_seed(0xd1ff);
    for i in 0..MUTANTS {
        let script: Vec<u8> = (0..10 * (1 + i % 3)).map(|_| rng.u8(..)).collect();
        std::fs::write(corpus.join(format!("seed-edits-{i:02}")), script)?;
    }
    Ok(())
}

fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}

fn ensure_nightly() -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["toolchain", "list"]);
    if cmd::output(&mut list)?
        .lines()
        .any(|line| line.starts_with("nightly"))
    {
        return Ok(());
    }
    eprintln!("installing a nightly toolchain for cargo-fuzz");
    cmd::run(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]))
}

fn ensure_cargo_fuzz() -> Result<()> {
    if Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz");
    cmd::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// The real image, mutated copies of it (deterministic, so runs compare), a
/// normal Linux executable and a partially linked object like Linux's own
/// `purgatory.ro`.
fn write_seeds(corpus: &Path) -> Result<()> {
    std::fs::create_dir_all(corpus)?;
    let real = std::fs::read(project_root().join(EMBEDDED_PATH))
        .context("reading the embedded purgatory")?;
    std::fs::write(corpus.join("seed-purgatory"), &real)?;
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for i in 0..MUTANTS {
        let mut mutant = real.clone();
        for _ in 0..=i % 4 {
            let at = if i % 2 == 0 {
                rng.usize(..64 + 56)
            } else {
                rng.usize(..mutant.len())
            };
            mutant[at] = rng.u8(..);
        }
        std::fs::write(corpus.join(format!("seed-mutant-{i:02}")), mutant)?;
    }
    if let Ok(normal) = std::fs::read("/bin/true") {
        std::fs::write(corpus.join("seed-executable"), normal)?;
    }
    std::fs::write(corpus.join("seed-et-rel"), partially_linked_object()?)?;
    Ok(())
}

/// A small ET_REL with the contract's symbols and relocations, compiled now.
fn partially_linked_object() -> Result<Vec<u8>> {
    let dir: PathBuf = project_root().join("target/fuzz");
    let source = dir.join("et-rel.c");
    let object = dir.join("et-rel.o");
    std::fs::write(
        &source,
        "unsigned long purgatory_sha_regions[32] __attribute__((section(\".kexec-purgatory\")));\n\
         unsigned char purgatory_sha256_digest[32] __attribute__((section(\".kexec-purgatory\")));\n\
         unsigned long entry64_regs[17] = {1};\n\
         extern void purgatory(void);\n\
         void purgatory_start(void) { purgatory(); }\n",
    )?;
    let mut cc = Command::new("cc");
    cc.args(["-c", "-O2", "-mcmodel=large", "-o"])
        .arg(&object)
        .arg(&source);
    cmd::run(&mut cc).context("a C compiler (cc) is needed for the ET_REL seed")?;
    let bytes = std::fs::read(&object)?;
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        bail!("{} is not an ELF object", object.display());
    }
    Ok(bytes)
}
