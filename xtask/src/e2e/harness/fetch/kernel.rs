//! Debian's stock kernels. A kernel is named by its version series and the
//! Debian suite it comes from ([`Stock`]): the current package of the series
//! is what the suite's kernel metapackages depend on, downloaded once; only
//! its `vmlinuz` (and its efivarfs module, for the UEFI runs) is kept under
//! `target/e2e/kernel/<package>/`, the other modules are deleted.

use crate::apt::{Apt, extract_member};
use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use kexec_load::bzimage::BzImage;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the efivarfs module is in a Debian kernel package, below
/// `lib/modules/<version>/`.
const EFIVARFS_MEMBER: &str = "kernel/fs/efivarfs/efivarfs.ko.xz";
/// What it is called in the cache, beside `vmlinuz`.
const EFIVARFS_FILE: &str = "efivarfs.ko.xz";

/// A Debian kernel: the current package of a version series in a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    /// `6.12`: the package is `linux-image-6.12.<…>-amd64`.
    pub series: &'static str,
    /// The suite, through a private apt state (`trixie-backports`); `None`:
    /// the system's own sources.
    pub suite: Option<&'static str>,
}

/// The kernel the guests boot unless told otherwise: the system's 6.12.
pub const DEFAULT_KERNEL: Stock = Stock {
    series: "6.12",
    suite: None,
};

/// A kernel to boot.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub vmlinuz: PathBuf,
    /// The Debian package it came from, e.g. `linux-image-6.12.117+deb12-amd64`.
    pub package: String,
    /// Its release as `uname -r` and its banner give it (`6.12.117+deb12-amd64`),
    /// read from the image's setup header; `None` if it is no bzImage or
    /// names none.
    pub release: Option<String>,
    /// Its efivarfs module (`.ko.xz`; Debian builds it as a module), which a
    /// guest loads to read EFI variables; `None` where the package has none
    /// (7.x keeps modules apart from the kernel) or for an `E2E_KERNEL`.
    pub efivarfs: Option<PathBuf>,
}

impl Kernel {
    fn at(vmlinuz: PathBuf, package: String, efivarfs: Option<PathBuf>) -> Result<Self> {
        let bytes =
            std::fs::read(&vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
        let release = BzImage::parse(&bytes)
            .ok()
            .and_then(|image| image.kernel_version)
            .and_then(|version| version.split_whitespace().next().map(str::to_owned));
        Ok(Self {
            vmlinuz,
            package,
            release,
            efivarfs,
        })
    }
}

/// The default kernel: `E2E_KERNEL` if set, else [`DEFAULT_KERNEL`].
pub fn kernel(root: &Path) -> Result<Kernel> {
    match std::env::var_os("E2E_KERNEL") {
        Some(path) => {
            let vmlinuz = PathBuf::from(path);
            anyhow::ensure!(
                vmlinuz.is_file(),
                "E2E_KERNEL={} is not a file",
                vmlinuz.display()
            );
            let package = format!("E2E_KERNEL={}", vmlinuz.display());
            Kernel::at(vmlinuz, package, None)
        }
        None => stock(root, DEFAULT_KERNEL),
    }
}

/// `stock`'s current kernel, downloaded once.
pub fn stock(root: &Path, stock: Stock) -> Result<Kernel> {
    let apt = match stock.suite {
        Some(suite) => Apt::suite(&project_root().join("target"), suite)?.preferring_suite(),
        None => Apt::system(),
    };
    let package = resolve(root, &apt, stock)?;
    let dir = root.join("kernel").join(&package);
    let vmlinuz = dir.join("vmlinuz");
    if !vmlinuz.is_file() {
        unpack_vmlinuz(root, &apt, &package, &vmlinuz)
            .with_context(|| format!("fetching the {} kernel {package}", stock.series))?;
    }
    let efivarfs = dir.join(EFIVARFS_FILE);
    Kernel::at(vmlinuz, package, efivarfs.is_file().then_some(efivarfs))
}

/// Where a package keeps the kernel: `boot/vmlinuz-<release>` until Debian's
/// 6.x packages, `usr/lib/modules/<release>/vmlinuz` in 7.x's `linux-binary-*`.
fn is_vmlinuz(member: &str) -> bool {
    let member = member.trim_start_matches("./");
    let file = member.rsplit('/').next().unwrap_or_default();
    (member.starts_with("boot/") && file.starts_with("vmlinuz-"))
        || (member.starts_with("usr/lib/modules/") && file == "vmlinuz")
}

/// Downloads `package` (or, where it holds no kernel, the `linux-binary-*`
/// package it depends on), moves its vmlinuz to `vmlinuz` and, when the
/// package has it, the efivarfs module beside it, and deletes the rest:
/// until 6.x the packages hold 70-110 MB of modules the suite uses one of.
fn unpack_vmlinuz(root: &Path, apt: &Apt, package: &str, vmlinuz: &Path) -> Result<()> {
    eprintln!("e2e: fetching {package} to extract its vmlinuz");
    let debs = root.join("debs");
    let mut deb = apt.download(&debs, &[package.to_owned()])?.remove(0);
    apt.ensure_from_suite(&deb)?;
    let mut member = vmlinuz_member(&deb)?;
    if member.is_none() {
        let binary = apt
            .depends(package)?
            .into_iter()
            .find(|name| name.starts_with("linux-binary-"))
            .with_context(|| {
                format!("{package} has no vmlinuz and no linux-binary-* dependency")
            })?;
        eprintln!("e2e: {package} keeps its kernel in {binary}; fetching that");
        let _ = std::fs::remove_file(&deb);
        deb = apt.download(&debs, &[binary])?.remove(0);
        apt.ensure_from_suite(&deb)?;
        member = vmlinuz_member(&deb)?;
    }
    let member = member.with_context(|| format!("{} holds no vmlinuz", deb.display()))?;
    let unpack = vmlinuz.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack)?;
    extract_member(&deb, &unpack, &member)?;
    let module = efivarfs_member(&deb)?;
    if let Some(module) = &module {
        extract_member(&deb, &unpack, module)?;
    }
    let dir = vmlinuz
        .parent()
        .context("the kernel cache has no directory")?;
    std::fs::create_dir_all(dir)?;
    std::fs::rename(unpack.join(&member), vmlinuz)?;
    if let Some(module) = module {
        std::fs::rename(unpack.join(module), dir.join(EFIVARFS_FILE))?;
    }
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_file(&deb);
    Ok(())
}

/// The archive member of `deb` that is the kernel image, if any.
fn vmlinuz_member(deb: &Path) -> Result<Option<String>> {
    member(deb, is_vmlinuz)
}

/// The efivarfs module's member in `deb`, if any (`./lib/modules/<version>/…`
/// or `./usr/lib/modules/…`, by the release's file-system layout).
fn efivarfs_member(deb: &Path) -> Result<Option<String>> {
    member(deb, |path| path.ends_with(EFIVARFS_MEMBER))
}

/// The first regular file of `deb` that `wanted` accepts.
fn member(deb: &Path, wanted: impl Fn(&str) -> bool) -> Result<Option<String>> {
    let listing = cmd::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    Ok(listing
        .lines()
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| line.split_whitespace().last())
        .find(|member| wanted(member))
        .map(str::to_owned))
}

/// `linux-image-<series>.<…>-amd64`, what the suite's generic kernel
/// metapackage depends on or else its metapackage for the series
/// (bookworm's 6.12 has one of its own). Without package lists, a kernel of
/// the series fetched earlier is used.
fn resolve(root: &Path, apt: &Apt, stock: Stock) -> Result<String> {
    let prefix = format!("linux-image-{}.", stock.series);
    let of_series = |name: &String| name.starts_with(&prefix) && name.ends_with("-amd64");
    let metapackages = [
        "linux-image-amd64".to_owned(),
        format!("linux-image-{}-amd64", stock.series),
    ];
    let mut failure = None;
    for metapackage in &metapackages {
        match apt.depends(metapackage) {
            Ok(depends) => {
                if let Some(package) = depends.into_iter().find(of_series) {
                    return Ok(package);
                }
            }
            Err(err) => failure = Some(err),
        }
    }
    let cached = std::fs::read_dir(root.join("kernel"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("vmlinuz").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(of_series)
        .max();
    let wanted = format!("{prefix}*-amd64");
    match (cached, failure) {
        (Some(package), _) => {
            eprintln!("e2e: apt names no {wanted}; using the cached {package}");
            Ok(package)
        }
        (None, Some(err)) => Err(err.context(format!("resolving {wanted}"))),
        (None, None) => bail!(
            "neither {} depends on a {wanted} package",
            metapackages.join(" nor ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::is_vmlinuz;

    #[test]
    fn the_kernel_is_found_in_either_layout() {
        assert!(is_vmlinuz("./boot/vmlinuz-6.1.0-57-amd64"));
        assert!(is_vmlinuz("./usr/lib/modules/7.3.4+deb13-amd64/vmlinuz"));
        assert!(!is_vmlinuz("./boot/System.map-6.1.0-57-amd64"));
        assert!(!is_vmlinuz("./usr/share/doc/linux/vmlinuz"));
        assert!(!is_vmlinuz(
            "./usr/lib/modules/7.3.4+deb13-amd64/kernel/vmlinuz.ko"
        ));
    }
}
