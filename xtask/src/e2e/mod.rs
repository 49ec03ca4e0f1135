//! `cargo xtask e2e`: the purgatory on real Linux. A Debian 6.12 kernel boots
//! in QEMU with an initramfs whose `/init` runs `kexec-load` (this
//! workspace's loader, with the purgatory embedded) and reboots into a second
//! kernel or the register probe; the kernel matrix does the same between
//! Debian's 6.1, 6.12 and 7.3, and the patched 7.3 kernels load it with
//! Linux's own `kexec_file_load`. Each scenario runs on one or both QEMU
//! variants (bookworm's 7.2: the software hash path; bookworm-backports' 10:
//! the SHA-NI path), each run named `<scenario>@<variant>` with its own log
//! under `target/e2e/logs/`. Runs are sequential: one QEMU at a time.
//!
//! Two layers: the [`harness`] boots and watches QEMU and knows no scenario;
//! the [`suite`] on top holds the scenarios, the serial log's vocabulary and
//! the judges. This module is the command: it selects the runs, prepares
//! what they need, runs them one by one and prints the summary.

mod harness;
mod suite;

use crate::cmd::project_root;
use anyhow::{Context as _, Result, bail};
use harness::variant::Variant;
use harness::{accel, fetch, guest};
use std::time::Instant;
use suite::context::{Context, Outcome, Target};
use suite::stock::{Series, StockKernels};
use suite::table::{Firmware, SCENARIOS, Scenario};

/// The options of `cargo xtask e2e`.
#[derive(Debug, Default, clap::Args)]
pub struct Options {
    /// Run only this: `<scenario>@<variant>`, a scenario on every variant it
    /// lists, or `@<variant>` for all of a variant's runs (repeatable; see --list).
    #[arg(long = "only", value_name = "RUN")]
    pub only: Vec<String>,
    /// List the runs and exit.
    #[arg(long)]
    pub list: bool,
    /// Seed for the random purgatory address and the markers (default: from the clock).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Fetch both QEMU variants and the kernels the runs boot (with --only,
    /// the selected ones'), build the guest programs and, if a run boots
    /// them, the patched kernels, then stop.
    #[arg(long)]
    pub prepare_only: bool,
}

/// One scenario on one variant.
#[derive(Debug, Clone, Copy)]
struct Planned {
    scenario: &'static Scenario,
    variant: Variant,
}

impl Planned {
    fn name(&self) -> String {
        self.scenario.run_name(self.variant)
    }
}

pub fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    let selected = select(&options.only)?;
    if options.list {
        for variant in Variant::ALL {
            println!("@{:<35} {}", variant.name(), variant.about());
        }
        for planned in all_runs() {
            println!("{:<36} {}", planned.name(), planned.scenario.about);
        }
        return Ok(());
    }
    // The suite proves the purgatory built from these sources: the build
    // refreshes the copy kexec-load embeds when it differs.
    crate::build::run()?;
    let root = project_root().join("target/e2e");
    std::fs::create_dir_all(root.join("logs"))?;
    let kernel = fetch::kernel(&root)?;
    let wanted: Vec<Series> = selected
        .iter()
        .flat_map(|p| p.scenario.stock_kernels())
        .collect();
    let fetching = Instant::now();
    let stock = StockKernels::fetch(&root, &kernel, &wanted)?;
    if !wanted.is_empty() {
        println!(
            "e2e: stock kernels ({}) ready in {:.1} s",
            stock.describe().join(", "),
            fetching.elapsed().as_secs_f64()
        );
    }
    let programs = guest::build(&root)?;
    if selected.iter().any(|p| p.scenario.needs_patched_kernels()) {
        suite::launch::kexec_file::prepare()?;
    }
    let ovmf = if options.prepare_only
        || selected
            .iter()
            .any(|p| p.scenario.firmware == Firmware::Uefi)
    {
        Some(fetch::ovmf(&root)?)
    } else {
        None
    };
    let mut variants: Vec<Variant> = if options.prepare_only {
        Variant::ALL.to_vec()
    } else {
        selected.iter().map(|p| p.variant).collect()
    };
    variants.dedup();
    // Every variant is fetched before any run: a QEMU that cannot be had fails
    // the suite here, with the reason, rather than skipping its runs.
    let mut qemus = Vec::new();
    for variant in variants {
        let qemu = fetch::qemu(&root, variant)
            .with_context(|| format!("preparing the {} variant", variant.name()))?;
        qemus.push((variant, qemu));
    }
    if options.prepare_only {
        let versions: Vec<_> = qemus
            .iter()
            .map(|(v, q)| format!("{}: {}", v.name(), q.version))
            .collect();
        println!(
            "e2e: prepared {}, {} and {} in {:.1} s",
            kernel.package,
            versions.join(", "),
            ovmf.as_ref().map_or("no OVMF", |o| o.version.as_str()),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let mut targets = Vec::new();
    for (variant, qemu) in qemus {
        let trial = |work: &std::path::Path| suite::launch::trial::kvm(&programs, work);
        let accel = accel::decide(&root, variant, &qemu, &kernel, trial)?;
        targets.push(Target {
            variant,
            qemu,
            accel,
        });
    }
    let seed = options
        .seed
        .or_else(|| std::env::var("E2E_SEED").ok()?.parse().ok())
        .unwrap_or_else(clock_seed);
    println!(
        "e2e: {} run(s); kernel {}; seed {seed} (repeat with --seed {seed})",
        selected.len(),
        kernel.package,
    );
    if let Some(ovmf) = &ovmf {
        println!(
            "e2e:   UEFI runs: {} ({})",
            ovmf.version,
            ovmf.code.display()
        );
    }
    for target in &targets {
        println!(
            "e2e:   @{}: {}, accelerator {} ({})",
            target.variant.name(),
            target.qemu.version,
            target.accel.name(),
            target.variant.about()
        );
    }
    let context = Context {
        root: root.clone(),
        kernel,
        stock,
        programs,
        seed,
        ovmf,
    };
    let prepared = started.elapsed();

    let mut failed = Vec::new();
    let mut table = Vec::new();
    let mut paths = Vec::new();
    let mut kdump = Vec::new();
    for (index, planned) in selected.iter().enumerate() {
        let name = planned.name();
        println!(
            "e2e: [{}/{}] {name}: {}",
            index + 1,
            selected.len(),
            planned.scenario.about
        );
        let target = targets
            .iter()
            .find(|t| t.variant == planned.variant)
            .expect("every selected variant was prepared");
        let outcome = suite::run(planned.scenario, &context, target);
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
            paths.push(path_line(&name, o));
            if let Some(figures) = &o.kdump {
                kdump.push(format!("  {name:<36} {figures}"));
            }
        }
        table.push(format!("  {name:<36} {line}"));
        if !passed {
            failed.push(name);
        }
    }
    println!(
        "e2e: summary (kernel {}, preparation {:.1} s, total {:.1} s, logs in {}):",
        context.kernel.package,
        prepared.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        root.join("logs").display()
    );
    for line in &table {
        println!("{line}");
    }
    println!(
        "e2e: hash path and hand-over (jump to the purgatory -> next image's first line) per run:"
    );
    for line in &paths {
        println!("{line}");
    }
    if !kdump.is_empty() {
        println!(
            "e2e: kdump: the reservation, the purgatory, the marker read back from /proc/vmcore, its size, panic -> capture /init (host seconds):"
        );
        for line in &kdump {
            println!("{line}");
        }
    }
    println!(
        "e2e: {} passed, {} failed",
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!("e2e run(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

fn path_line(name: &str, outcome: &Outcome) -> String {
    let path = outcome.path.map_or("?", |p| p.name());
    let handover = outcome
        .handover
        .map_or_else(|| "-".into(), |s| format!("{s:.2} s"));
    let cr = outcome.probe_cr.map_or_else(String::new, |cr| {
        format!("  probe saw CR0={:#x} CR4={:#x}", cr.cr0, cr.cr4)
    });
    format!("  {name:<36} {path:<9} {handover:>7}{cr}")
}

/// Every run, variant by variant, in the table's order.
fn all_runs() -> Vec<Planned> {
    Variant::ALL
        .iter()
        .flat_map(|&variant| {
            SCENARIOS
                .iter()
                .filter(move |s| s.variants.contains(&variant))
                .map(move |scenario| Planned { scenario, variant })
        })
        .collect()
}

/// The runs `only` names, in the suite's order.
fn select(only: &[String]) -> Result<Vec<Planned>> {
    let all = all_runs();
    if only.is_empty() {
        return Ok(all);
    }
    let mut wanted = vec![false; all.len()];
    for pattern in only {
        let mut matched = false;
        for (planned, wanted) in all.iter().zip(wanted.iter_mut()) {
            if planned.name() == *pattern
                || planned.scenario.name == pattern
                || pattern.strip_prefix('@') == Some(planned.variant.name())
            {
                *wanted = true;
                matched = true;
            }
        }
        if !matched {
            let known: Vec<_> = all.iter().map(Planned::name).collect();
            bail!(
                "no run {pattern:?}; runs: {} (a scenario name alone runs it on each of its variants, @qemu7 or @qemu10 all of a variant's)",
                known.join(", ")
            );
        }
    }
    Ok(all
        .into_iter()
        .zip(wanted)
        .filter_map(|(planned, wanted)| wanted.then_some(planned))
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(only: &[&str]) -> Vec<String> {
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        select(&only).unwrap().iter().map(Planned::name).collect()
    }

    #[test]
    fn selection_by_run_scenario_or_variant() {
        assert_eq!(
            names(&["kernel-to-kernel"]),
            ["kernel-to-kernel@qemu7", "kernel-to-kernel@qemu10"]
        );
        assert_eq!(names(&["probe-low@qemu10"]), ["probe-low@qemu10"]);
        let qemu7 = names(&["@qemu7"]);
        assert!(qemu7.iter().all(|n| n.ends_with("@qemu7")), "{qemu7:?}");
        assert_eq!(
            names(&["@qemu7", "kernel-to-kernel"]).len(),
            qemu7.len() + 1
        );
        assert!(select(&["nothing".into()]).is_err());
        let all = names(&[]);
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
    }
}
