//! OVMF, the UEFI firmware the UEFI runs boot through: Debian's `ovmf`
//! package, unpacked once, or the files `E2E_OVMF` names.

use crate::apt::Apt;
use crate::cmd;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

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
