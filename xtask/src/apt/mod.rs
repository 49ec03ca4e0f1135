//! Debian package plumbing shared by the QEMU suite and the kernel build:
//! apt with the system's state or a private one per suite ([`Apt`]), who may
//! install, what is installed, installing what is missing, and unpacking one
//! member of a `.deb`.

mod suite;

pub use suite::{Apt, is_root};

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

pub fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| out.stdout == b"installed")
}

/// Installs those of `packages` that are missing, as root, with `apt_get`
/// (plain `apt-get`, or one with a private apt state); without root, fails
/// with the exact command, naming `purpose`. Nothing is ever removed.
pub fn install_missing<S: AsRef<str>>(
    packages: &[S],
    purpose: &str,
    apt_get: impl Fn() -> Command,
) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .map(AsRef::as_ref)
        .filter(|package| !installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let args = [
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "--no-remove",
    ];
    let command = format!("apt-get {} {}", args.join(" "), missing.join(" "));
    if !is_root() {
        bail!("missing packages for {purpose}; install them as root with:\n  {command}");
    }
    eprintln!("installing packages for {purpose}: {command}");
    let install = || {
        cmd::run(
            apt_get()
                .args(args)
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        // Stale package lists name versions the archive no longer has.
        cmd::run(apt_get().args(["update", "-qq"]))?;
        install()?;
    }
    Ok(())
}

/// `dpkg-deb --fsys-tarfile DEB | tar -x -C DIR MEMBER`.
pub fn extract_member(deb: &Path, dir: &Path, member: &str) -> Result<()> {
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .context("running dpkg-deb")?;
    let stdout = dpkg.stdout.take().context("dpkg-deb has no stdout")?;
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .arg(member)
        .stdin(stdout)
        .status()
        .context("running tar")?;
    let dpkg = dpkg.wait()?;
    if !tar.success() || !dpkg.success() {
        bail!(
            "extracting {member} from {} failed (dpkg-deb {dpkg}, tar {tar})",
            deb.display()
        );
    }
    Ok(())
}
