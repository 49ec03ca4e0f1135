//! The QEMU builds the variants run. QEMU is not installed as a package: on
//! this machine image the preinstalled `qemu-utils` comes from
//! bookworm-backports and `Breaks` bookworm's `qemu-system-common`, so
//! `apt-get install qemu-system-x86` would remove it. Instead the QEMU
//! packages are downloaded (`apt-get download`) and unpacked into a private
//! directory per variant (`qemu/` for bookworm's 7.2, `qemu10/` for
//! bookworm-backports' 10, fetched through a private apt state for that
//! suite), and only their runtime libraries, which conflict with nothing, are
//! installed (with `--no-remove`, so apt aborts rather than remove anything).
//! `E2E_QEMU` / `E2E_QEMU10` name a binary to use instead.

use super::super::variant::Variant;
use crate::apt::{Apt, install_missing};
use crate::cmd::{self, project_root};
use anyhow::{Context, Result};
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

/// The QEMU to run.
#[derive(Debug, Clone)]
pub struct Qemu {
    pub binary: PathBuf,
    /// `-L` options for firmware, when QEMU was unpacked privately.
    pub data_args: Vec<String>,
    /// First line of `--version`.
    pub version: String,
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
