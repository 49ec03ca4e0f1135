//! The project's build and test driver, run as `cargo xtask <command>`
//! (the [cargo-xtask](https://github.com/matklad/cargo-xtask) pattern).
//!
//! `build` produces and checks the purgatory, `check` judges any ELF against
//! the contract, `test` and `lint` run what CI runs, `bench` measures
//! verification, `e2e` proves the purgatory on real Linux under QEMU, `kernel`
//! builds the patched Linux whose own `kexec_file_load` loads it.

mod apt;
mod bench;
mod build;
mod check;
mod cmd;
mod e2e;
mod fuzz;
mod kernel;
mod lint;
mod no_std;
mod test;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, check, test and measure the kexec purgatory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the purgatory, check it, and write it to target/purgatory/purgatory.elf.
    Build,
    /// Judge any ELF against the purgatory contract (exit 0 clean, 1 violations, 2 unreadable).
    Check {
        /// The ELF file to judge.
        elf: PathBuf,
        /// Print a machine-readable report instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Build, then run every test: the checker, hosted execution, reproducibility, e2e.
    Test,
    /// Check formatting and run clippy on every crate, the purgatory included.
    Lint,
    /// Measure hosted verification throughput against host `sha2`.
    Bench,
    /// Build the no_std loader for bare metal, check it has no SIMD code, print the loader core's size.
    NoStd,
    /// Fuzz the checker and loader, and their agreement with the kernel, with libFuzzer (installs nightly and cargo-fuzz if missing).
    Fuzz {
        /// How long to run each target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only this target (`parse` or `differential`); both by default.
        #[arg(long)]
        target: Option<fuzz::Target>,
    },
    /// Boot a Debian kernel in QEMU and kexec through the purgatory: real kernel, register probe, refusals.
    E2e(e2e::Options),
    /// Build the patched Linux kernels whose own kexec_file_load loads the purgatory (cached under target/kernel).
    Kernel,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build => build::run().map(|_| ExitCode::SUCCESS),
        Command::Check { elf, json } => Ok(check::run(&elf, json)),
        Command::Test => test::run().map(|()| ExitCode::SUCCESS),
        Command::Lint => lint::run().map(|()| ExitCode::SUCCESS),
        Command::Bench => bench::run().map(|()| ExitCode::SUCCESS),
        Command::NoStd => no_std::run().map(|()| ExitCode::SUCCESS),
        Command::E2e(options) => e2e::run(&options).map(|()| ExitCode::SUCCESS),
        Command::Fuzz { seconds, target } => fuzz::run(seconds, target).map(|()| ExitCode::SUCCESS),
        Command::Kernel => kernel::run().map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}
