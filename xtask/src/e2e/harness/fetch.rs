//! What the boots need from Debian, fetched with apt and cached under
//! `target/e2e/`: kernels and the two QEMU variants.
//!
//! A kernel is named by its version series and the Debian suite it comes
//! from ([`Stock`]): the current package of the series is what the suite's
//! kernel metapackages depend on, downloaded once; only its `vmlinuz` is kept
//! (`target/e2e/kernel/<package>/vmlinuz`), the modules are deleted. A suite
//! other than the system's is read through a private apt state
//! ([`Apt::suite`]).
//!
//! QEMU is not installed as a package: on this machine image the preinstalled
//! `qemu-utils` comes from bookworm-backports and `Breaks` bookworm's
//! `qemu-system-common`, so `apt-get install qemu-system-x86` would remove it.
//! Instead the QEMU packages are downloaded (`apt-get download`) and unpacked
//! into a private directory per variant (`qemu/` for bookworm's 7.2, `qemu10/`
//! for bookworm-backports' 10, fetched through a private apt state for that
//! suite), and only their runtime libraries, which
//! conflict with nothing, are installed (with `--no-remove`, so apt aborts
//! rather than remove anything). `E2E_QEMU` / `E2E_QEMU10` name a binary to use
//! instead.

use super::variant::Variant;
use crate::apt::{Apt, extract_member, install_missing};
use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use kexec_load::bzimage::BzImage;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Unpacked privately; everything else QEMU depends on is a library.
const QEMU_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "qemu-system-common",
    "qemu-system-data",
    "seabios",
    "ipxe-qemu",
];
const QEMU_BINARY: &str = "qemu-system-x86_64";
/// Where the qemu10 variant comes from.
const QEMU10_SUITE: &str = "bookworm-backports";

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
}

impl Kernel {
    fn at(vmlinuz: PathBuf, package: String) -> Result<Self> {
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
        })
    }
}

/// The QEMU to run.
#[derive(Debug, Clone)]
pub struct Qemu {
    pub binary: PathBuf,
    /// `-L` options for firmware, when QEMU was unpacked privately.
    pub data_args: Vec<String>,
    /// First line of `--version`.
    pub version: String,
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
            Kernel::at(vmlinuz, package)
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
    Kernel::at(vmlinuz, package)
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
/// package it depends on), moves its vmlinuz to `vmlinuz` and deletes the
/// rest: until 6.x the packages hold 70-110 MB of modules the suite never
/// uses.
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
    let dir = vmlinuz
        .parent()
        .context("the kernel cache has no directory")?;
    std::fs::create_dir_all(dir)?;
    std::fs::rename(unpack.join(&member), vmlinuz)?;
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_file(&deb);
    Ok(())
}

/// The archive member of `deb` that is the kernel image, if any.
fn vmlinuz_member(deb: &Path) -> Result<Option<String>> {
    let listing = cmd::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    Ok(listing
        .lines()
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| line.split_whitespace().last())
        .find(|member| is_vmlinuz(member))
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

/// `variant`'s QEMU: the binary its environment variable names, else the
/// Debian packages unpacked under `root`, with their libraries installed.
pub fn qemu(root: &Path, variant: Variant) -> Result<Qemu> {
    if let Some(path) = std::env::var_os(variant.env()) {
        return checked(PathBuf::from(path), Vec::new());
    }
    match variant {
        Variant::Qemu7 => unpacked(&root.join("qemu"), &Apt::system()),
        Variant::Qemu10 => {
            let fetch = || -> Result<Qemu> {
                let apt = Apt::suite(&project_root().join("target"), QEMU10_SUITE)?;
                unpacked(&root.join("qemu10"), &apt)
            };
            fetch().with_context(|| {
                format!(
                    "cannot get QEMU 10 from Debian's {QEMU10_SUITE} (the variant that makes the \
                     purgatory take its SHA-NI path); {} may name a QEMU that emulates SHA-NI \
                     under TCG",
                    variant.env()
                )
            })
        }
    }
}

/// The QEMU packages unpacked under `prefix` (fetched once, the versions of
/// `apt`'s suite), and their libraries installed.
fn unpacked(prefix: &Path, apt: &Apt) -> Result<Qemu> {
    let fetching = apt.preferring_suite();
    let binary = prefix.join("usr/bin").join(QEMU_BINARY);
    if !binary.is_file() {
        eprintln!("e2e: fetching QEMU from Debian into {}", prefix.display());
        let debs = fetching.download(
            &prefix.with_extension("debs"),
            &QEMU_PACKAGES
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>(),
        )?;
        fetching.ensure_from_suite(&debs[0])?;
        let unpack = prefix.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&unpack);
        for deb in &debs {
            cmd::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&unpack))?;
        }
        let _ = std::fs::remove_dir_all(prefix);
        std::fs::rename(&unpack, prefix)?;
        for deb in debs {
            let _ = std::fs::remove_file(deb);
        }
    }
    // Firmware lives in the unpacked tree, not where the binary was built to
    // look (QEMU 10 finds none without these).
    let data_args = ["usr/share/qemu", "usr/share/seabios", "usr/lib/ipxe/qemu"]
        .iter()
        .map(|dir| prefix.join(dir))
        .filter(|dir| dir.is_dir())
        .flat_map(|dir| ["-L".to_owned(), dir.display().to_string()])
        .collect();
    if version(&binary).is_err() {
        install_runtime_libraries(&fetching, apt)?;
    }
    checked(binary, data_args)
}

fn version(binary: &Path) -> Result<String> {
    let out = cmd::output(Command::new(binary).arg("--version"))?;
    Ok(out.lines().next().unwrap_or_default().to_owned())
}

fn checked(binary: PathBuf, data_args: Vec<String>) -> Result<Qemu> {
    let version = version(&binary).with_context(|| format!("{} does not run", binary.display()))?;
    Ok(Qemu {
        binary,
        data_args,
        version,
    })
}

/// Installs the libraries the unpacked QEMU links against (named by the
/// packages as `resolving` sees them, installed with `installing`'s
/// preferences: the release's own versions), as root; else fails with the
/// exact command to run.
fn install_runtime_libraries(resolving: &Apt, installing: &Apt) -> Result<()> {
    let mut wanted = Vec::new();
    for package in ["qemu-system-x86", "qemu-system-common"] {
        for name in resolving.depends(package)? {
            if !QEMU_PACKAGES.contains(&name.as_str()) && !wanted.contains(&name) {
                wanted.push(name);
            }
        }
    }
    install_missing(&wanted, "QEMU's runtime libraries", || {
        installing.command("apt-get")
    })
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
