//! `cargo xtask kernel`: a small Linux whose own `kexec_file_load` loads this
//! purgatory.
//!
//! Upstream Linux loads only partially linked (ET_REL) purgatories. The
//! series in `kernel/patches/` teaches Debian's 7.3 source to load a fully
//! linked one, to embed an external purgatory file, (for tests) to read one
//! from a file named on the command line, and to keep the purgatory's check
//! where 7.3 skips it. This command fetches the source with apt from
//! trixie-backports ([`source`]), keeps the series applied, configures
//! `tinyconfig` plus `kernel/e2e.config` ([`config`]) and builds two kernels
//! from the same tree, each in its own `O=` directory under `target/kernel/`:
//!
//! * **embedded**: `CONFIG_KEXEC_PURGATORY_EXTERNAL` names `host/purgatory.elf`,
//!   so the kernel carries this project's purgatory;
//! * **builtin**: the kernel's own C purgatory, to show the patched loader
//!   still takes it.
//!
//! Both have `CONFIG_KEXEC_PURGATORY_TEST_FILE`, and what the crash dump, KHO
//! and UEFI scenarios need, so that they are built once for all scenarios.
//! Everything is cached: an unchanged tree is not rebuilt, a patch change
//! rebuilds what it touches.

mod config;
mod source;

// The e2e suite fetches its stock 7.3 kernel from the same suite.
pub use source::SUITE;

use crate::apt;
use crate::build::EMBEDDED_PATH;
use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names the patched tree to `tests/differential/build.rs`, which compiles
/// the kernel's purgatory code from it for the differential test's judge.
pub const TREE_VAR: &str = "PURGATORY_KERNEL_SRC";
/// The configuration fragment added to `make tinyconfig`.
const FRAGMENT: &str = "kernel/e2e.config";
/// The patch series, applied in file-name order.
const PATCHES: &str = "kernel/patches";
/// Debian packages the build needs beyond a C toolchain.
const BUILD_PACKAGES: &[&str] = &[
    "make",
    "gcc",
    "libc6-dev",
    "patch",
    "flex",
    "bison",
    "bc",
    "perl",
    "xz-utils",
    // objtool, which x86-64 builds always run.
    "libelf-dev",
];

/// Which purgatory a kernel embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// This project's purgatory, `host/purgatory.elf`.
    Embedded,
    /// The C purgatory built from `arch/x86/purgatory`.
    Builtin,
}

impl Variant {
    const ALL: [Self; 2] = [Self::Embedded, Self::Builtin];

    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Builtin => "builtin",
        }
    }

    /// The lines this variant adds to the fragment.
    fn config(self) -> String {
        let external = match self {
            Self::Embedded => project_root().join(EMBEDDED_PATH).display().to_string(),
            Self::Builtin => String::new(),
        };
        format!("CONFIG_KEXEC_PURGATORY_EXTERNAL=\"{external}\"\n")
    }
}

/// A built kernel.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub variant: Variant,
    pub bzimage: PathBuf,
    /// How long `make` took this time (short when nothing changed).
    pub build_time: Duration,
}

/// Both kernels and what they were built from.
#[derive(Debug, Clone)]
pub struct Kernels {
    /// `linux-source-7.3 <version> + N patches (kernel/patches)`.
    pub description: String,
    pub embedded: Kernel,
    pub builtin: Kernel,
}

/// `cargo xtask kernel`: builds the purgatory, then both kernels.
pub fn run() -> Result<()> {
    crate::build::run()?;
    let started = Instant::now();
    let kernels = build()?;
    println!("kernel: {}", kernels.description);
    for kernel in [&kernels.embedded, &kernels.builtin] {
        let size = std::fs::metadata(&kernel.bzimage).map_or(0, |m| m.len());
        let shown = kernel
            .bzimage
            .strip_prefix(project_root())
            .unwrap_or(&kernel.bzimage);
        println!(
            "kernel: {:<9} {} ({} KiB), make took {:.1} s",
            kernel.variant.name(),
            shown.display(),
            size >> 10,
            kernel.build_time.as_secs_f64()
        );
    }
    println!("kernel: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The source tree with the series applied, not built: what the
/// differential test's kernel judge compiles part of (see [`TREE_VAR`]).
pub fn patched_tree() -> Result<PathBuf> {
    ensure_build_packages()?;
    let (_, source, _) = patch()?;
    Ok(source.dir)
}

/// Fetches and patches the tree (each step cached): the tree, how many
/// patches it carries, and `target/kernel`.
fn patch() -> Result<(PathBuf, source::Source, usize)> {
    let root = project_root().join("target/kernel");
    let source = source::unpacked(&root)?;
    let series = source::read_series(&project_root().join(PATCHES))?;
    anyhow::ensure!(!series.is_empty(), "{PATCHES} holds no *.patch files");
    source::apply_series(&root, &source, &series)?;
    Ok((root, source, series.len()))
}

/// Fetches, patches, configures and builds both kernels (each step cached).
/// Expects `host/purgatory.elf` to be current (`cargo xtask build`).
pub fn build() -> Result<Kernels> {
    ensure_build_packages()?;
    let (root, source, patches) = patch()?;
    std::fs::create_dir_all(root.join("logs"))?;
    let fragment = std::fs::read_to_string(project_root().join(FRAGMENT))
        .with_context(|| format!("reading {FRAGMENT}"))?;
    let identity = format!("{} {}", source::PACKAGE, source.version);
    let mut built = Vec::new();
    let mut previous: Option<PathBuf> = None;
    for variant in Variant::ALL {
        let dir = root.join("build").join(variant.name());
        seed(&dir, previous.as_deref())?;
        config::configure(
            &source.dir,
            &dir,
            &identity,
            &format!("{fragment}\n{}", variant.config()),
        )
        .with_context(|| format!("configuring the {} kernel", variant.name()))?;
        let log = root.join("logs").join(format!("{}.log", variant.name()));
        eprintln!(
            "kernel: building the {} kernel (make -j{}; log {})",
            variant.name(),
            jobs(),
            log.display()
        );
        let started = Instant::now();
        make_bzimage(&dir, &log)
            .with_context(|| format!("building the {} kernel", variant.name()))?;
        built.push(Kernel {
            variant,
            bzimage: dir.join("arch/x86/boot/bzImage"),
            build_time: started.elapsed(),
        });
        previous = Some(dir);
    }
    let [embedded, builtin] = <[Kernel; 2]>::try_from(built).expect("two variants");
    Ok(Kernels {
        description: format!("{identity} + {patches} patches ({PATCHES})"),
        embedded,
        builtin,
    })
}

/// Starts a missing build directory as a copy of `from`, the variant built
/// just before. The variants differ in one string option, and Kbuild tracks
/// dependencies per option, so the copy only rebuilds the purgatory and
/// relinks: a clean build of the second kernel costs seconds, not minutes.
fn seed(dir: &Path, from: Option<&Path>) -> Result<()> {
    let Some(from) = from else {
        return Ok(());
    };
    if dir.exists() || !from.join("vmlinux").is_file() {
        return Ok(());
    }
    eprintln!(
        "kernel: starting {} as a copy of {}",
        dir.display(),
        from.display()
    );
    // -a keeps the mtimes, which make compares.
    cmd::run(Command::new("cp").arg("-a").arg(from).arg(dir))
}

/// Parallel jobs: the cores there are (the build machine is small and shared).
fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// `make -jN bzImage` in `dir`, its output in `log`; the log's tail on failure.
fn make_bzimage(dir: &Path, log: &Path) -> Result<()> {
    let file = std::fs::File::create(log)?;
    let status = Command::new("make")
        .arg("-C")
        .arg(dir)
        .arg(format!("-j{}", jobs()))
        .arg("bzImage")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .context("running make")?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        bail!(
            "make bzImage failed ({status}); the end of {}:\n{tail}",
            log.display()
        );
    }
    Ok(())
}

/// Installs the build dependencies as root; else fails naming the command.
fn ensure_build_packages() -> Result<()> {
    apt::install_missing(BUILD_PACKAGES, "the kernel build", || {
        Command::new("apt-get")
    })
}
