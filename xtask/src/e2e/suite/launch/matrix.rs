//! The kernel matrix: `kexec-load` on one of Debian's stock kernels loads
//! another, or the register probe. Booted as any `kexec-load` run
//! ([`kexec_load::boot`]) between the run's kernels, judged by that run's
//! judge and by [`matrix::kernels`], which checks the banners' releases.

use super::kexec_load::{self, Pair};
use crate::e2e::suite::context::{Context, Outcome, Target};
use crate::e2e::suite::judge::matrix;
use crate::e2e::suite::table::{Boot, Load, Matrix, Next, Scenario};
use anyhow::Result;

/// Prepares the images, boots, and judges the log.
pub fn run(scenario: &Scenario, case: Matrix, ctx: &Context, target: &Target) -> Result<Outcome> {
    let first = ctx.stock.get(case.first)?;
    let (load, second) = match case.next {
        Next::Kernel(series) => (Load::Boot(Boot::Verified), Some(ctx.stock.get(series)?)),
        Next::Probe(placement) => (
            Load::Probe {
                placement,
                software_sha256: false,
            },
            None,
        ),
    };
    let kernels = Pair {
        first,
        second: second.unwrap_or(first),
    };
    let (mut outcome, run) = kexec_load::boot(scenario, load, kernels, ctx, target)?;
    match matrix::kernels(&run.serial, first, second) {
        Ok(releases) => outcome.summary = format!("{releases}; {}", outcome.summary),
        Err(why) if outcome.passed => {
            outcome.passed = false;
            outcome.summary = why;
        }
        Err(_) => {}
    }
    Ok(outcome)
}
