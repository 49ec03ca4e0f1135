//! `cargo xtask lint`: formatting and clippy, for the host crates and for the
//! purgatory on its own target with its own flags.

use crate::build::purgatory_cargo;
use crate::cmd::{self, cargo};
use anyhow::Result;

pub fn run() -> Result<()> {
    cmd::run(cargo().args(["fmt", "--all", "--check"]))?;
    cmd::run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    cmd::run(purgatory_cargo("clippy").args(["--", "-D", "warnings"]))
}
