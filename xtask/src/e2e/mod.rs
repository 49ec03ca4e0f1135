//! `cargo xtask e2e`: the purgatory on real Linux. A Debian 6.12 kernel boots
//! in QEMU with an initramfs whose `/init` runs `kexec-load` (this
//! workspace's loader, with the purgatory embedded) and reboots into a second
//! kernel or the register probe; each scenario is one QEMU run with its own
//! log under `target/e2e/logs/`. Runs are sequential: one QEMU at a time.
//!
//! Modules: [`deps`] fetches QEMU and the kernel through apt, [`guest`] builds
//! the guest programs and initramfs images ([`cpio`], [`elf`]), [`accel`]
//! decides KVM or TCG, [`qemu`] runs and watches one boot, [`scenario`]
//! defines and judges the scenarios; [`patched`] adds those in which the
//! patched kernels of `cargo xtask kernel` load the purgatory themselves
//! (with broken purgatories from [`bad_purgatory`]).

mod accel;
mod bad_purgatory;
mod cpio;
mod deps;
mod elf;
mod guest;
mod patched;
mod qemu;
mod scenario;

use crate::cmd::project_root;
use anyhow::{Result, bail};
use scenario::{Context, SCENARIOS, Scenario};
use std::time::Instant;

/// The options of `cargo xtask e2e`.
#[derive(Debug, Default, clap::Args)]
pub struct Options {
    /// Run only this scenario (repeatable; see --list).
    #[arg(long = "only", value_name = "SCENARIO")]
    pub only: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Seed for the random purgatory address and the markers (default: from the clock).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Fetch QEMU and the kernel and build the guest programs, then stop.
    #[arg(long)]
    pub prepare_only: bool,
}

pub fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    let selected = select(&options.only)?;
    if options.list {
        for s in all() {
            println!("{:<18} {}", s.name, s.about);
        }
        return Ok(());
    }
    // The suite proves the purgatory built from these sources: the build
    // refreshes the copy kexec-load embeds when it differs.
    crate::build::run()?;
    let root = project_root().join("target/e2e");
    std::fs::create_dir_all(root.join("logs"))?;
    let qemu = deps::qemu(&root)?;
    let kernel = deps::kernel(&root)?;
    let programs = guest::build(&root)?;
    if selected.iter().any(|s| s.needs_patched_kernels()) {
        patched::prepare()?;
    }
    if options.prepare_only {
        println!(
            "e2e: prepared {} and {} in {:.1} s",
            kernel.package,
            qemu.version,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let accel = accel::decide(&root, &qemu, &kernel, &programs)?;
    let seed = options
        .seed
        .or_else(|| std::env::var("E2E_SEED").ok()?.parse().ok())
        .unwrap_or_else(clock_seed);
    println!(
        "e2e: {} scenario(s); kernel {}; {}; accelerator {}; seed {seed} (repeat with --seed {seed})",
        selected.len(),
        kernel.package,
        qemu.version,
        accel.name()
    );
    let context = Context {
        root: root.clone(),
        qemu,
        accel,
        kernel,
        programs,
        seed,
    };
    let prepared = started.elapsed();

    let mut failed = Vec::new();
    let mut table = Vec::new();
    for (index, scenario) in selected.iter().enumerate() {
        println!(
            "e2e: [{}/{}] {}: {}",
            index + 1,
            selected.len(),
            scenario.name,
            scenario.about
        );
        let outcome = scenario.run(&context);
        let (passed, line) = match &outcome {
            Ok(o) => (
                o.passed,
                format!(
                    "{:<5} {:>6.1} s  {}",
                    verdict(o.passed),
                    o.elapsed.as_secs_f64(),
                    o.summary
                ),
            ),
            Err(err) => (false, format!("ERROR          {err:#}")),
        };
        println!("e2e:   {line}");
        if let Ok(o) = &outcome {
            for evidence in &o.evidence {
                println!("e2e:     | {evidence}");
            }
            if !o.passed {
                print_log(&o.log);
            }
        }
        table.push(format!("  {:<18} {line}", scenario.name));
        if !passed {
            failed.push(scenario.name);
        }
    }
    println!(
        "e2e: summary (kernel {}, accelerator {}, preparation {:.1} s, total {:.1} s, logs in {}):",
        context.kernel.package,
        accel.name(),
        prepared.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        root.join("logs").display()
    );
    for line in &table {
        println!("{line}");
    }
    println!(
        "e2e: {} passed, {} failed",
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!("e2e scenario(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Every scenario: the suite's own, then the patched-kernel ones.
fn all() -> impl Iterator<Item = &'static Scenario> {
    SCENARIOS.iter().chain(patched::SCENARIOS)
}

fn select(only: &[String]) -> Result<Vec<&'static Scenario>> {
    if only.is_empty() {
        return Ok(all().collect());
    }
    only.iter()
        .map(|name| {
            all().find(|s| s.name == name).ok_or_else(|| {
                let known: Vec<_> = all().map(|s| s.name).collect();
                anyhow::anyhow!("no scenario {name:?}; scenarios: {}", known.join(", "))
            })
        })
        .collect()
}

fn verdict(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

fn print_log(log: &std::path::Path) {
    println!("e2e: ---- serial log {} ----", log.display());
    match std::fs::read_to_string(log) {
        Ok(text) => print!("{text}"),
        Err(err) => println!("(cannot read it: {err})"),
    }
    println!("e2e: ---- end of {} ----", log.display());
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64 % 1_000_000_007)
}
