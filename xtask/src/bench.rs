//! `cargo xtask bench`: hosted verification throughput of the shipped bytes
//! against host `sha2` built with its software backend, in the same run.

use crate::build;
use crate::cmd::{self, cargo, project_root};
use anyhow::Result;

pub fn run() -> Result<()> {
    let artifact = build::run()?;
    eprintln!("benchmarking (host sha2 with its software backend; about a minute)");
    let mut bench = cargo();
    bench
        .args(["bench", "--package", "purgatory-tests", "--bench", "verify"])
        .env("PURGATORY_ELF", &artifact)
        .env("CARGO_ENCODED_RUSTFLAGS", "--cfg=sha2_backend=\"soft\"")
        // Its own target directory: different rustflags would otherwise
        // rebuild the test dependencies on every switch.
        .env("CARGO_TARGET_DIR", project_root().join("target/bench-soft"));
    cmd::run(&mut bench)
}
