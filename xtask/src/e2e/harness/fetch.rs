//! What the boots need from Debian, fetched with apt and cached under
//! `target/e2e/`: a 6.12-series kernel (with its efivarfs module), the two
//! QEMU variants, and OVMF, the UEFI firmware.
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
use std::path::{Path, PathBuf};
use std::process::Command;

/// The metapackage that depends on the current 6.12 kernel of the release.
const KERNEL_METAPACKAGE: &str = "linux-image-6.12-amd64";
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

/// The kernel the guests run.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub vmlinuz: PathBuf,
    /// The Debian package it came from, e.g. `linux-image-6.12.117+deb12-amd64`.
    pub package: String,
    /// Its efivarfs module (`.ko.xz`; Debian builds it as a module), which a
    /// guest loads to read EFI variables; `None` for an `E2E_KERNEL`.
    pub efivarfs: Option<PathBuf>,
}

/// Where the efivarfs module is in a Debian kernel package, below `lib/modules/<version>/`.
const EFIVARFS_MEMBER: &str = "kernel/fs/efivarfs/efivarfs.ko.xz";
/// The OVMF package and the pair of files the suite boots: the 4 MiB build
/// without Secure Boot, which needs no SMM (so QEMU's default `pc` machine
/// runs it), and its empty variable store.
const OVMF_PACKAGE: &str = "ovmf";
const OVMF_DIR: &str = "usr/share/OVMF";
const OVMF_CODE: &str = "OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "OVMF_VARS_4M.fd";

/// The UEFI firmware: its code, read-only, and the template of its variable
/// store, of which each run gets a writable copy.
#[derive(Debug, Clone)]
pub struct Ovmf {
    pub code: PathBuf,
    pub vars: PathBuf,
    /// The Debian package version, or the `E2E_OVMF` directory.
    pub version: String,
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

/// The 6.12 kernel: `E2E_KERNEL` if set, else the package the metapackage
/// depends on, downloaded once; only `boot/vmlinuz-*` is kept.
pub fn kernel(root: &Path) -> Result<Kernel> {
    if let Some(path) = std::env::var_os("E2E_KERNEL") {
        let vmlinuz = PathBuf::from(path);
        anyhow::ensure!(
            vmlinuz.is_file(),
            "E2E_KERNEL={} is not a file",
            vmlinuz.display()
        );
        return Ok(Kernel {
            package: format!("E2E_KERNEL={}", vmlinuz.display()),
            vmlinuz,
            efivarfs: None,
        });
    }
    let package = resolve_kernel_package(root)?;
    let dir = root.join("kernel").join(&package);
    let vmlinuz = dir.join("vmlinuz");
    let efivarfs = dir.join("efivarfs.ko.xz");
    if vmlinuz.is_file() && efivarfs.is_file() {
        return Ok(Kernel {
            vmlinuz,
            package,
            efivarfs: Some(efivarfs),
        });
    }
    eprintln!("e2e: fetching {package} (about 110 MB) to extract its vmlinuz and efivarfs module");
    let debs = root.join("debs");
    let deb = Apt::system()
        .download(&debs, std::slice::from_ref(&package))?
        .remove(0);
    let unpack = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack)?;
    extract_member(&deb, &unpack, "./boot")?;
    let module = module_member(&deb)?;
    extract_member(&deb, &unpack, &module)?;
    let boot = unpack.join("boot");
    let image = std::fs::read_dir(&boot)
        .with_context(|| format!("{} has no boot/", deb.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .with_context(|| format!("{} has no boot/vmlinuz-*", deb.display()))?;
    std::fs::create_dir_all(&dir)?;
    std::fs::rename(&image, &vmlinuz)?;
    std::fs::rename(unpack.join(&module), &efivarfs)?;
    let _ = std::fs::remove_dir_all(&unpack);
    // The package is ~110 MB of modules the suite uses one of.
    let _ = std::fs::remove_file(&deb);
    Ok(Kernel {
        vmlinuz,
        package,
        efivarfs: Some(efivarfs),
    })
}

impl Ovmf {
    /// A fresh writable copy of the variable store in `dir`, for one run:
    /// what the firmware writes during one boot never reaches the next.
    pub fn fresh_vars(&self, dir: &Path) -> Result<PathBuf> {
        let copy = dir.join(OVMF_VARS);
        std::fs::copy(&self.vars, &copy)
            .with_context(|| format!("copying {} to {}", self.vars.display(), copy.display()))?;
        Ok(copy)
    }
}

/// The efivarfs module's member in `deb` (`./lib/modules/<version>/…` or
/// `./usr/lib/modules/…`, by the release's file-system layout).
fn module_member(deb: &Path) -> Result<String> {
    let listing = cmd::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .find(|path| path.ends_with(EFIVARFS_MEMBER))
        .map(str::to_owned)
        .with_context(|| format!("{} has no {EFIVARFS_MEMBER}", deb.display()))
}

/// OVMF: the files of `E2E_OVMF` (a directory holding [`OVMF_CODE`] and
/// [`OVMF_VARS`]) if set, else bookworm's `ovmf` package, downloaded and
/// unpacked under `root/ovmf/` once.
pub fn ovmf(root: &Path) -> Result<Ovmf> {
    if let Some(dir) = std::env::var_os("E2E_OVMF") {
        let dir = PathBuf::from(dir);
        let (code, vars) = (dir.join(OVMF_CODE), dir.join(OVMF_VARS));
        anyhow::ensure!(
            code.is_file() && vars.is_file(),
            "E2E_OVMF={} lacks {} or {}",
            dir.display(),
            code.display(),
            vars.display()
        );
        return Ok(Ovmf {
            code,
            vars,
            version: format!("E2E_OVMF={}", dir.display()),
        });
    }
    let prefix = root.join("ovmf");
    let files = prefix.join(OVMF_DIR);
    let (code, vars) = (files.join(OVMF_CODE), files.join(OVMF_VARS));
    let stamp = prefix.join("version");
    if !(code.is_file() && vars.is_file() && stamp.is_file()) {
        eprintln!("e2e: fetching OVMF from Debian into {}", prefix.display());
        let debs = prefix.with_extension("debs");
        let deb = Apt::system()
            .download(&debs, &[OVMF_PACKAGE.to_owned()])?
            .remove(0);
        let unpack = prefix.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&unpack);
        cmd::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpack))?;
        let version = cmd::output(
            Command::new("dpkg-deb")
                .args(["--field"])
                .arg(&deb)
                .arg("Version"),
        )?;
        std::fs::write(unpack.join("version"), version.trim())?;
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::rename(&unpack, &prefix)?;
        let _ = std::fs::remove_dir_all(&debs);
    }
    Ok(Ovmf {
        code,
        vars,
        version: format!("ovmf {}", std::fs::read_to_string(&stamp)?.trim()),
    })
}

/// `linux-image-6.12.<n>+deb12-amd64`, from the metapackage's dependency.
/// Without package lists, a kernel fetched earlier is used.
fn resolve_kernel_package(root: &Path) -> Result<String> {
    let resolved = Apt::system().depends(KERNEL_METAPACKAGE).map(|depends| {
        depends
            .into_iter()
            .find(|name| name.starts_with("linux-image-6.12.") && name.ends_with("-amd64"))
    });
    match resolved {
        Ok(Some(package)) => Ok(package),
        other => {
            let cached = std::fs::read_dir(root.join("kernel"))
                .into_iter()
                .flatten()
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.path().join("vmlinuz").is_file())
                .filter_map(|entry| entry.file_name().into_string().ok())
                .max();
            if let Some(package) = cached {
                eprintln!(
                    "e2e: apt cannot resolve {KERNEL_METAPACKAGE}; using the cached {package}"
                );
                return Ok(package);
            }
            match other {
                Err(err) => Err(err),
                _ => bail!("{KERNEL_METAPACKAGE} depends on no linux-image-6.12.*-amd64 package"),
            }
        }
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
