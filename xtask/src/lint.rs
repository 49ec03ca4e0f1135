//! `cargo xtask lint`: formatting and clippy, for the host crates, the
//! purgatory's host-tested logic, the loader core and its example without
//! std on bare metal, and the purgatory and the register probe on their own
//! target with their own flags.

use crate::build::{TARGET, probe_cargo, purgatory_cargo};
use crate::cmd::{self, cargo};
use anyhow::Result;

/// Crates with a workspace of their own (`cargo fmt --all` does not reach them).
const SEPARATE_MANIFESTS: [&str; 2] = ["tests/downstream/Cargo.toml", "fuzz/Cargo.toml"];

pub fn run() -> Result<()> {
    cmd::run(cargo().args(["fmt", "--all", "--check"]))?;
    for manifest in SEPARATE_MANIFESTS {
        cmd::run(cargo().args(["fmt", "--check", "--manifest-path", manifest]))?;
    }
    cmd::run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    // The loader's test payloads, which only the e2e suite's build turns on.
    cmd::run(cargo().args([
        "clippy",
        "--package",
        "kexec-load",
        "--all-targets",
        "--features",
        "e2e",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The purgatory's logic and its unit tests, as `cargo xtask test` runs them
    // on the host.
    cmd::run(cargo().args([
        "clippy",
        "--package",
        "purgatory",
        "--lib",
        "--tests",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The loader core without std, and its no_std example (with the loader
    // and as the baseline it is measured against), on bare metal.
    for (package, features) in [
        ("purgatory-host", "--no-default-features"),
        ("no-std-loader", "--features="),
        ("no-std-loader", "--features=baseline"),
    ] {
        cmd::run(cargo().args([
            "clippy",
            "--package",
            package,
            features,
            "--target",
            TARGET,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    cmd::run(purgatory_cargo("clippy").args(["--", "-D", "warnings"]))?;
    cmd::run(probe_cargo("clippy").args(["--", "-D", "warnings"]))
}
