//! `cargo xtask test`: what CI runs. Builds the purgatory, runs the workspace
//! tests against it (the differential test with the patched kernel tree's
//! own code, which it prepares), the purgatory's logic on the host, the `no_std` loader
//! (built for bare metal, checked free of SIMD, measured) and a downstream
//! crate's tests, checks that a second copy of the sources in another
//! directory builds to the same bytes, and runs the QEMU kexec suite (`cargo
//! xtask e2e`).

use crate::cmd::{self, cargo, project_root};
use crate::{build, kernel, no_std};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub fn run() -> Result<()> {
    let artifact = build::run()?;
    check_embedded_copy_committed()?;
    // The differential test's kernel judge compiles the patched tree's own
    // code: without it the test would compare only the checker and the library.
    let tree = kernel::patched_tree()
        .context("preparing the patched kernel tree the differential test's kernel judge needs")?;
    eprintln!(
        "running the workspace tests against {}, the kernel judge from {}",
        artifact.display(),
        tree.display()
    );
    // The default members: every host crate (bare-metal ones build only
    // through xtask).
    cmd::run(
        cargo()
            .arg("test")
            .env("PURGATORY_ELF", &artifact)
            .env(kernel::TREE_VAR, &tree),
    )?;
    eprintln!("running kexec-load's tests with its e2e feature (the suite's test payloads)");
    cmd::run(cargo().args(["test", "--package", "kexec-load", "--features", "e2e"]))?;
    eprintln!("running the purgatory's logic on the host");
    cmd::run(cargo().args(["test", "--package", "purgatory", "--lib"]))?;
    no_std::run()?;
    eprintln!("packaging the three published crates, each built from its package alone");
    // One run for all three: a dry run of purgatory-host alone cannot find
    // purgatory-abi on the registry before it is published.
    cmd::run(cargo().args(["publish", "--dry-run", "--workspace", "--allow-dirty"]))?;
    eprintln!("running a crate outside the workspace that only depends on the host library");
    cmd::run(
        cargo()
            .args(["test", "--manifest-path", "tests/downstream/Cargo.toml"])
            .env("CARGO_TARGET_DIR", project_root().join("target/downstream")),
    )?;
    check_reproducible(&artifact)?;
    crate::e2e::run(&crate::e2e::Options::default())
}

/// The build refreshes `host/purgatory.elf`; if that changed the committed
/// copy, the library in the repository embeds a stale purgatory. Fatal in CI,
/// a reminder elsewhere.
fn check_embedded_copy_committed() -> Result<()> {
    let mut diff = Command::new("git");
    diff.current_dir(project_root())
        .args(["diff", "--quiet", "HEAD", "--", build::EMBEDDED_PATH]);
    if diff.status().context("running git diff")?.success() {
        return Ok(());
    }
    let message = format!(
        "{} differs from the committed copy: commit the refreshed file",
        build::EMBEDDED_PATH
    );
    if std::env::var_os("CI").is_some() {
        bail!(message);
    }
    eprintln!("warning: {message}");
    Ok(())
}

/// Builds the same sources from a copy elsewhere and compares the bytes: no
/// path of the build machine may leak into the image.
fn check_reproducible(artifact: &Path) -> Result<()> {
    let copy = std::env::temp_dir().join(format!("purgatory-repro-{}", std::process::id()));
    eprintln!(
        "reproducibility: building a copy of the sources in {}",
        copy.display()
    );
    copy_sources(&copy)?;
    let result = build_copy(&copy).and_then(|copied| {
        let ours = std::fs::read(artifact)?;
        if ours != copied {
            bail!(
                "the purgatory is not reproducible: {} and the build of the copy in {} differ",
                artifact.display(),
                copy.display()
            );
        }
        eprintln!(
            "reproducibility: both builds are {} identical bytes",
            ours.len()
        );
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// Copies the tracked files (what a fresh clone has) to `dest`.
fn copy_sources(dest: &Path) -> Result<()> {
    let mut ls = Command::new("git");
    ls.current_dir(project_root())
        .args(["ls-files", "--cached", "--others", "--exclude-standard"]);
    for file in cmd::output(&mut ls)?.lines() {
        let from = project_root().join(file);
        if !from.is_file() {
            continue; // deleted but not yet committed
        }
        let to = dest.join(file);
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))?;
        std::fs::copy(&from, &to).with_context(|| format!("copying {file}"))?;
    }
    Ok(())
}

/// Runs `cargo xtask build` in the copy, with its own target directory.
fn build_copy(copy: &Path) -> Result<Vec<u8>> {
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .current_dir(copy)
        .args(["xtask", "build"])
        .env_remove("CARGO_TARGET_DIR");
    cmd::run(&mut build)?;
    let path = copy.join("target/purgatory/purgatory.elf");
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}
