//! What runs inside the guests: the static `kexec-load`, `/init` and
//! `kexec-file-load`, the register probe as a flat image, and the initramfs
//! images that carry them ([`cpio`](super::cpio)).

use super::cpio::Cpio;
use crate::build;
use anyhow::{Context, Result};
use e2e_protocol::Pattern;
use e2e_protocol::protocol::{ARGS_FILE, BIG_FILE};
use std::path::{Path, PathBuf};

/// The built guest programs.
#[derive(Debug, Clone)]
pub struct Programs {
    pub kexec_load: PathBuf,
    pub init: PathBuf,
    /// The `/init` package's other binary: `kexec_file_load(2)` with the
    /// arguments `kexec-load` would get.
    pub kexec_file_load: PathBuf,
    /// The probe's flat image (`kexec-load --raw`).
    pub probe: PathBuf,
    /// Its entry point's offset (`--entry-offset`).
    pub probe_entry: u64,
}

/// Builds the programs; the probe's flat image goes to `root/probe.bin`.
pub fn build(root: &Path) -> Result<Programs> {
    eprintln!("e2e: building kexec-load and the e2e /init as static binaries");
    // The `e2e` feature gives kexec-load the test payloads (`--raw`, `--corrupt-after-digest`).
    let dir = build::build_guest_programs(&["kexec-load", "e2e-init"], &["kexec-load/e2e"])?;
    let kexec_load = dir.join("kexec-load");
    let init = dir.join("e2e-init");
    let kexec_file_load = dir.join("kexec-file-load");
    for path in [&kexec_load, &init, &kexec_file_load] {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        elf_edit::ensure_static(&bytes).with_context(|| {
            format!(
                "{}: the initramfs has no libraries, so it must be static",
                path.display()
            )
        })?;
    }
    let probe_elf = build::build_probe()?;
    let bytes =
        std::fs::read(&probe_elf).with_context(|| format!("reading {}", probe_elf.display()))?;
    let (flat, probe_entry) = elf_edit::flat_image(&bytes)
        .with_context(|| format!("the register probe {}", probe_elf.display()))?;
    let probe = root.join("probe.bin");
    std::fs::write(&probe, &flat)?;
    Ok(Programs {
        kexec_load,
        init,
        kexec_file_load,
        probe,
        probe_entry,
    })
}

/// The pseudo-file-system mount points and the console every image has.
fn skeleton<W: std::io::Write>(cpio: &mut Cpio<W>, init: &Path) -> Result<()> {
    for dir in ["dev", "proc", "sys"] {
        cpio.dir(dir)?;
    }
    cpio.char_device("dev/console", 5, 1)?;
    cpio.file_from_path("init", 0o755, init)
}

/// The second kernel's initramfs: `/init`, for the large-initrd scenario
/// `/big.bin` of `len` pattern bytes from `seed`, and `files` (each at its
/// path in the image, its directory one level deep).
pub fn stage2_initramfs(
    path: &Path,
    programs: &Programs,
    big: Option<(u64, u64)>,
    files: &[(&str, &Path)],
) -> Result<()> {
    let mut cpio = Cpio::create(path)?;
    skeleton(&mut cpio, &programs.init)?;
    if let Some((len, seed)) = big {
        let mut bytes = vec![0u8; usize::try_from(len)?];
        Pattern::new(seed).fill(&mut bytes);
        cpio.file(BIG_FILE, 0o644, &bytes)?;
    }
    let mut dirs: Vec<&str> = files
        .iter()
        .filter_map(|(name, _)| Some(name.rsplit_once('/')?.0))
        .collect();
    dirs.dedup();
    for dir in dirs {
        cpio.dir(dir)?;
    }
    for (name, file) in files {
        cpio.file_from_path(name, 0o644, file)?;
    }
    cpio.finish()?;
    Ok(())
}

/// The first kernel's initramfs: `/init`, the `loader` it runs (one of
/// [`Programs`]) under `/bin`, the loader's arguments, and `files` under
/// `/boot`.
pub fn stage1_initramfs(
    path: &Path,
    programs: &Programs,
    loader: &Path,
    args: &[String],
    files: &[(&str, &Path)],
) -> Result<()> {
    let name = loader
        .file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("{} names no program", loader.display()))?;
    let mut cpio = Cpio::create(path)?;
    skeleton(&mut cpio, &programs.init)?;
    cpio.dir("bin")?;
    cpio.file_from_path(&format!("bin/{name}"), 0o755, loader)?;
    let args_dir = Path::new(ARGS_FILE)
        .parent()
        .and_then(Path::to_str)
        .unwrap_or("e2e");
    cpio.dir(args_dir)?;
    cpio.file(ARGS_FILE, 0o644, (args.join("\n") + "\n").as_bytes())?;
    cpio.dir("boot")?;
    for (name, file) in files {
        cpio.file_from_path(&format!("boot/{name}"), 0o644, file)?;
    }
    cpio.finish()?;
    Ok(())
}
