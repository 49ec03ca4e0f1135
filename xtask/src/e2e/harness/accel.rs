//! KVM or TCG, decided by a short real boot and cached.
//!
//! `/dev/kvm` existing proves nothing: on nested-PVM hosts QEMU accepts
//! `-accel kvm` and then the guest hangs in the decompressor or stops with a
//! KVM internal error (measured, see the reference notes), and `-accel
//! kvm -accel tcg` does not fall back because KVM did initialise. So the
//! real kernel boots under KVM once, as the caller's [`Trial`] says; only if
//! that boot gets where a working KVM gets is KVM used. The answer is cached
//! per host kernel, QEMU (each variant is decided on its own) and guest kernel
//! in `target/e2e/accel-cache`.

use super::fetch::{Kernel, Qemu};
use super::qemu::{self, Accel, Machine, Run, Watch};
use super::variant::Variant;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The trial boot, from the caller, who knows what the guest prints.
#[derive(Debug)]
pub struct Trial {
    pub initrd: PathBuf,
    pub append: String,
    pub watch: Watch,
    /// Whether the boot got where a working KVM gets.
    pub works: fn(&Run) -> bool,
}

/// The accelerator for `variant`'s `qemu` and `kernel`: `E2E_ACCEL` if set,
/// TCG without a usable `/dev/kvm`, else the cached or new result of the
/// trial `trial` makes in the work directory it is given.
pub fn decide(
    root: &Path,
    variant: Variant,
    qemu: &Qemu,
    kernel: &Kernel,
    trial: impl FnOnce(&Path) -> Result<Trial>,
) -> Result<Accel> {
    match std::env::var("E2E_ACCEL").as_deref() {
        Ok("kvm") => return Ok(Accel::Kvm),
        Ok("tcg") => return Ok(Accel::Tcg),
        Ok(other) => anyhow::bail!("E2E_ACCEL={other}: expected kvm or tcg"),
        Err(_) => {}
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        eprintln!("e2e: accelerator tcg (no usable /dev/kvm)");
        return Ok(Accel::Tcg);
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let key = format!(
        "host {} | {} | {}",
        host.trim(),
        qemu.version,
        kernel.package
    );
    let cache = root.join("accel-cache");
    let cached = std::fs::read_to_string(&cache).unwrap_or_default();
    if let Some(answer) = cached
        .lines()
        .find_map(|line| line.strip_suffix(&format!("\t{key}")))
    {
        eprintln!("e2e: accelerator {answer} (cached trial result for {key})");
        return Ok(if answer == "kvm" {
            Accel::Kvm
        } else {
            Accel::Tcg
        });
    }
    let name = format!("kvm-trial@{}", variant.name());
    let work = root.join("work").join(&name);
    std::fs::create_dir_all(&work)?;
    let log = root.join("logs").join(format!("{name}.log"));
    let accel = run_trial(qemu, kernel, &trial(&work)?, &log)?;
    let mut lines: Vec<_> = cached
        .lines()
        .filter(|line| !line.ends_with(&key))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{}\t{key}", accel.name()));
    std::fs::write(&cache, lines.join("\n") + "\n")?;
    Ok(accel)
}

/// KVM if `trial` boots `kernel` under KVM as a working KVM would.
fn run_trial(qemu: &Qemu, kernel: &Kernel, trial: &Trial, log: &Path) -> Result<Accel> {
    let machine = Machine {
        qemu,
        accel: Accel::Kvm,
        firmware: None,
        memory: "1G",
        cpus: 1,
        kernel: &kernel.vmlinuz,
        initrd: &trial.initrd,
        append: &trial.append,
        extra_args: &[],
    };
    let run = qemu::run(&machine, &trial.watch, log)?;
    let works = (trial.works)(&run);
    let accel = if works { Accel::Kvm } else { Accel::Tcg };
    eprintln!(
        "e2e: accelerator {}: a trial boot under KVM {} after {:.1} s ({:?}; log {})",
        accel.name(),
        if works {
            "reached /init"
        } else {
            "did not reach /init"
        },
        run.elapsed.as_secs_f64(),
        run.ending,
        log.display()
    );
    Ok(accel)
}
