//! The suite on top of the [harness](super::harness): the scenarios as data
//! ([`table`]), the serial log's [`vocabulary`] (what the guests, the tool,
//! the kernel and the purgatory print), one judge per kind of run
//! ([`judge`]), and how each kind is booted ([`launch`]), with the broken
//! purgatories of the patched-kernel runs ([`bad_purgatory`]) and Debian's
//! stock kernels of the kernel matrix ([`stock`]).

pub mod bad_purgatory;
pub mod context;
pub mod judge;
pub mod launch;
pub mod stock;
pub mod table;
pub mod vocabulary;

use anyhow::Result;
use context::{Context, Outcome, Target};
use table::{Kind, Scenario};

/// Prepares `scenario`'s images, boots them on `target`, and judges the log.
pub fn run(scenario: &Scenario, ctx: &Context, target: &Target) -> Result<Outcome> {
    match scenario.kind {
        Kind::KexecLoad(load) => launch::kexec_load::run(scenario, load, ctx, target),
        Kind::KexecFile(case) => launch::kexec_file::run(scenario, case, ctx, target),
        Kind::Kdump(case) => launch::kdump::run(scenario, case, ctx, target),
        Kind::Matrix(case) => launch::matrix::run(scenario, case, ctx, target),
        Kind::Kho(case) => launch::kho::run(scenario, case, ctx, target),
    }
}
