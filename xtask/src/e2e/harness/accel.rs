//! KVM or TCG, decided by a short real boot and cached.
//!
//! `/dev/kvm` existing proves nothing: on nested-PVM hosts QEMU accepts
//! `-accel kvm` and then the guest hangs in the decompressor or stops with a
//! KVM internal error (measured, see the reference notes), and `-accel
//! kvm -accel tcg` does not fall back because KVM did initialise. So the suite
//! boots the real kernel under KVM once with a `/init` that exits QEMU; only if
//! that reports is KVM used. The answer is cached per host kernel, QEMU (each
//! variant is decided on its own) and guest kernel in `target/e2e/accel-cache`.

use super::deps::{Kernel, Qemu};
use super::guest::{self, Programs};
use super::qemu::{self, Accel, Machine, Watch};
use super::variant::Variant;
use anyhow::Result;
use e2e_protocol::protocol::{PARAM_MARKER, PARAM_STAGE, QEMU_STATUS_PASS, STAGE2};
use std::path::Path;
use std::time::Duration;

/// A working KVM boots this kernel to `/init` in a second or two.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(15);
const TRIAL_MARKER: &str = "kvm-trial";

pub fn decide(
    root: &Path,
    variant: Variant,
    qemu: &Qemu,
    kernel: &Kernel,
    programs: &Programs,
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

    let trial = format!("kvm-trial@{}", variant.name());
    let work = root.join("work").join(&trial);
    std::fs::create_dir_all(&work)?;
    let initrd = work.join("initramfs.cpio");
    guest::stage2_initramfs(&initrd, programs, None)?;
    let append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=2 {PARAM_MARKER}={TRIAL_MARKER}");
    let machine = Machine {
        qemu,
        accel: Accel::Kvm,
        memory: "1G",
        kernel: &kernel.vmlinuz,
        initrd: &initrd,
        append: &append,
    };
    let watch = Watch::init_verdict(TRIAL_TIMEOUT);
    let log = root.join("logs").join(format!("{trial}.log"));
    let run = qemu::run(&machine, &watch, &log)?;
    let works = run.exit_status() == Some(QEMU_STATUS_PASS)
        && run
            .serial
            .contains(&format!("{STAGE2} marker={TRIAL_MARKER}"));
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
    let mut lines: Vec<_> = cached
        .lines()
        .filter(|line| !line.ends_with(&key))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{}\t{key}", accel.name()));
    std::fs::write(&cache, lines.join("\n") + "\n")?;
    Ok(accel)
}
