//! Debian's kernel source, fetched from trixie-backports through a private apt
//! state (`target/apt/trixie-backports/`, see [`Apt::suite`]) and unpacked once
//! under `target/kernel/src`, with the patch series kept applied.
//!
//! The tree remembers which patches it carries (copies in `.xtask-applied/`).
//! When the series changes, only the patches from the first difference on are
//! reverted and reapplied, so that the files they do not touch keep their
//! mtimes and the next build is incremental.

use crate::apt::{self, Apt};
use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The package whose `/usr/src/linux-source-7.3.tar.xz` is the source.
pub const PACKAGE: &str = "linux-source-7.3";
/// The Debian suite that has it: trixie's backports (the system is bookworm).
pub const SUITE: &str = "trixie-backports";
/// Names the package version the tree was unpacked from.
const SOURCE_STAMP: &str = ".xtask-source";
/// Copies of the applied patches, in order.
const APPLIED_DIR: &str = ".xtask-applied";

/// An unpacked source tree.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    /// The Debian package version, e.g. `7.3.4-1~bpo13+1`.
    pub version: String,
}

/// The tree under `root/src`, unpacked from the current package version
/// (or, when apt cannot tell, whatever was unpacked before).
pub fn unpacked(root: &Path) -> Result<Source> {
    let dir = root.join("src");
    let cached = std::fs::read_to_string(dir.join(SOURCE_STAMP))
        .ok()
        .map(|s| s.trim().to_owned());
    let version = match (apt().and_then(|apt| apt.candidate_version(PACKAGE)), cached) {
        (Ok(version), _) => version,
        (Err(err), Some(cached)) => {
            eprintln!(
                "kernel: apt cannot resolve {PACKAGE} ({err:#}); using the unpacked {cached}"
            );
            cached
        }
        (Err(err), None) => return Err(err),
    };
    if std::fs::read_to_string(dir.join(SOURCE_STAMP)).is_ok_and(|s| s.trim() == version) {
        return Ok(Source { dir, version });
    }
    unpack(root, &dir, &version)?;
    Ok(Source { dir, version })
}

/// Downloads the package, unpacks its tarball into `dir` (replacing any
/// older tree) and deletes the download.
fn unpack(root: &Path, dir: &Path, version: &str) -> Result<()> {
    eprintln!("kernel: fetching {PACKAGE} {version} from {SUITE} (about 160 MB) with apt");
    let apt = apt()?.preferring_suite();
    let deb = apt
        .download(&root.join("debs"), &[format!("{PACKAGE}={version}")])?
        .remove(0);
    apt.ensure_from_suite(&deb)?;

    let unpack = root.join("src.tmp");
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack)?;
    let tarball = format!("./usr/src/{PACKAGE}.tar.xz");
    apt::extract_member(&deb, &unpack, &tarball)?;
    let tarball = unpack.join(&tarball);
    eprintln!("kernel: unpacking {}", tarball.display());
    cmd::run(
        Command::new("tar")
            .arg("-xJf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpack),
    )?;
    let tree = unpack.join(PACKAGE);
    anyhow::ensure!(
        tree.join("Makefile").is_file(),
        "{} has no {PACKAGE}/Makefile",
        tarball.display()
    );
    std::fs::write(tree.join(SOURCE_STAMP), format!("{version}\n"))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tree, dir)?;
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_file(&deb);
    Ok(())
}

/// The private apt state of [`SUITE`], its lists fetched on first use.
fn apt() -> Result<Apt> {
    Apt::suite(&project_root().join("target"), SUITE)
}

/// One patch file: its name and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The `*.patch` files of `dir`, in name order (their numbering).
pub fn read_series(dir: &Path) -> Result<Vec<Patch>> {
    let mut series = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".patch") {
            series.push(Patch {
                name: name.to_owned(),
                bytes: std::fs::read(&path)?,
            });
        }
    }
    series.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(series)
}

/// Brings `source` to carrying exactly `series`. Returns how many patches
/// were (re)applied.
pub fn apply_series(root: &Path, source: &Source, series: &[Patch]) -> Result<usize> {
    let applied = read_applied(&source.dir)?;
    let keep = applied
        .iter()
        .zip(series)
        .take_while(|(a, b)| a == b)
        .count();
    if keep == applied.len() && keep == series.len() {
        return Ok(0);
    }
    for patch in applied[keep..].iter().rev() {
        if let Err(err) = run_patch(&source.dir, patch, true) {
            // Someone changed the tree by hand: start again from the package.
            eprintln!(
                "kernel: cannot revert {} ({err:#}); unpacking the source again",
                patch.name
            );
            let _ = std::fs::remove_dir_all(&source.dir);
            unpack(root, &source.dir, &source.version)?;
            return apply_series(root, source, series);
        }
        std::fs::remove_file(source.dir.join(APPLIED_DIR).join(&patch.name))?;
    }
    std::fs::create_dir_all(source.dir.join(APPLIED_DIR))?;
    for patch in &series[keep..] {
        run_patch(&source.dir, patch, false)
            .with_context(|| format!("applying kernel/patches/{}", patch.name))?;
        std::fs::write(source.dir.join(APPLIED_DIR).join(&patch.name), &patch.bytes)?;
        eprintln!("kernel: applied {}", patch.name);
    }
    Ok(series.len() - keep)
}

/// The patches recorded as applied, in order.
fn read_applied(dir: &Path) -> Result<Vec<Patch>> {
    let applied = dir.join(APPLIED_DIR);
    if !applied.is_dir() {
        return Ok(Vec::new());
    }
    read_series(&applied)
}

/// `patch -p1 [-R]`, checked with a dry run first so that a patch that does
/// not apply leaves no half-applied files behind.
fn run_patch(dir: &Path, patch: &Patch, reverse: bool) -> Result<()> {
    for dry_run in [true, false] {
        let mut command = Command::new("patch");
        command
            .current_dir(dir)
            .args(["-p1", "--forward", "--batch", "--no-backup-if-mismatch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if reverse {
            command.arg("--reverse");
        }
        if dry_run {
            command.arg("--dry-run");
        }
        let mut child = command.spawn().context("running patch")?;
        let mut stdin = child.stdin.take().context("patch has no stdin")?;
        let bytes = patch.bytes.clone();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
        let out = child.wait_with_output()?;
        let _ = writer.join();
        if !out.status.success() {
            bail!(
                "patch {}{} failed:\n{}{}",
                if reverse { "--reverse " } else { "" },
                patch.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(())
}
