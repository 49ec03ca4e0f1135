//! What the purgatory prints on its console. The lines a run must show are
//! rendered by the purgatory's own library (`purgatory::report`) from the
//! plan's values, so rewording a line there changes what is expected here;
//! what cannot be known in advance is a hole of a [`Template`].

use super::guest::PROBE_REACHED;
use super::linux::{BANNER, PANIC, STARTING_NEW_KERNEL};
use super::plan::Plan;
use super::template::{Template, UNKNOWN_ADDRESS, UNKNOWN_DIGEST, UNKNOWN_NUMBER, render};
use kexec_load::report::Corruption;
use purgatory::regions::{Fault, Hashing, SegmentFault};
use purgatory::report;
use purgatory::trap::{PAGE_FAULT, Trap};
use purgatory_abi::{FailurePolicy, HashPath, ShaRegions};

/// The page-fault error code of a read of a page that is not present, at
/// CPL 0 (SDM vol. 3A, 4.7: P, W/R, U/S, RSVD and I/D all clear).
const NOT_PRESENT_READ: u64 = 0;

/// One line the purgatory must print, and what it stands for.
#[derive(Debug, Clone)]
pub struct Expected {
    pub line: Template,
    pub what: String,
}

/// The start of every console line (`purgatory: `): what its last lines for
/// the two failure policies have in common.
pub fn prefix() -> String {
    let halt = stopping(FailurePolicy::Halt);
    let reset = stopping(FailurePolicy::Reset);
    let common = halt
        .char_indices()
        .zip(reset.chars())
        .find(|((_, a), b)| a != b)
        .map_or(halt.len(), |((at, _), _)| at);
    halt[..common].to_owned()
}

/// Its last line before it stops for `policy`.
pub fn stopping(policy: FailurePolicy) -> String {
    render(|out| report::stopping(out, policy))
}

/// A load it passes, from what it was given rather than a plan (Linux's own
/// loader prints none): `regions` on `path`, the jump to `target`.
pub fn passing_regions(regions: &ShaRegions, path: HashPath, target: u64) -> Vec<Expected> {
    vec![
        started(regions, path),
        verdict(covered(regions), true),
        Expected {
            line: Template::rendered(|out| report::jumping(out, target)),
            what: format!("the jump to the hand-off target {target:#x}"),
        },
    ]
}

/// The bytes the region table covers.
pub fn covered(regions: &ShaRegions) -> u64 {
    regions
        .iter()
        .fold(0, |sum: u64, region| sum.saturating_add(region.len))
}

/// A load it refuses for the byte `kexec-load` flipped: what it verifies,
/// the failed verdict, exactly the flipped segment named with both digests,
/// and its stop for `policy`.
pub fn refusing(
    plan: &Plan,
    flipped: &Corruption,
    policy: FailurePolicy,
) -> Result<Vec<Expected>, String> {
    let region = plan
        .regions()?
        .get(flipped.region)
        .copied()
        .filter(|region| region.start == flipped.segment_start && region.len != 0)
        .ok_or(format!(
            "kexec-load flipped a byte of segment {} at {:#x}, which is not that region of its plan",
            flipped.region, flipped.segment_start
        ))?;
    let fault = SegmentFault {
        index: flipped.region,
        region,
        fault: Fault::Mismatch {
            expected: UNKNOWN_DIGEST,
            computed: UNKNOWN_DIGEST,
        },
    };
    Ok(vec![
        started(&plan.regions()?, plan.hash),
        verdict(plan.covered(), false),
        Expected {
            line: Template::rendered(|out| report::segment_fault(out, &fault)),
            what: format!(
                "segment {} at {:#x}, the one kexec-load flipped",
                flipped.region, flipped.segment_start
            ),
        },
        Expected {
            line: Template::rendered(|out| report::stopping(out, policy)),
            what: format!("its last line, the {policy:?}"),
        },
    ])
}

/// A load whose test region (`kexec-load --test-region`, at an address the
/// kexec does not map) faults: what it verifies, the test region included;
/// the page fault on its first byte while hashing it, from an instruction
/// whose address is a hole; its stop for `policy`. Nothing else: the fault
/// ends the pass, so there is no verdict.
pub fn faulting(plan: &Plan, policy: FailurePolicy) -> Result<Vec<Expected>, String> {
    let test = plan
        .test_region
        .as_ref()
        .ok_or("kexec-load's plan has no test region")?;
    let regions = plan.regions()?;
    let hashing = Hashing::in_table(&regions, test.region).ok_or(format!(
        "the test region's index {} is past the table",
        test.region
    ))?;
    let trap = Trap {
        vector: PAGE_FAULT,
        rip: UNKNOWN_ADDRESS,
        error_code: Some(NOT_PRESENT_READ),
        cr2: Some(test.start),
    };
    Ok(vec![
        started(&regions, plan.hash),
        Expected {
            line: Template::rendered(|out| report::exception(out, &trap, Some(hashing))),
            what: format!(
                "the page fault reading the test region {} at {:#x}, {:#x} bytes, which nothing maps",
                test.region, test.start, test.len
            ),
        },
        Expected {
            line: Template::rendered(|out| report::stopping(out, policy)),
            what: format!("its last line, the {policy:?}"),
        },
    ])
}

fn started(regions: &ShaRegions, path: HashPath) -> Expected {
    let count = regions.iter().filter(|region| region.len != 0).count();
    Expected {
        line: Template::rendered(|out| report::started(out, regions, path)),
        what: format!(
            "what it verifies: {count} segments, {} bytes, on the {} path",
            covered(regions),
            path.name()
        ),
    }
}

fn verdict(bytes: u64, matched: bool) -> Expected {
    Expected {
        line: Template::rendered(|out| report::verified(out, matched, bytes, UNKNOWN_NUMBER)),
        what: format!(
            "the verdict ({}) after all {bytes} bytes, with the TSC ticks",
            if matched { "verified" } else { "failed" }
        ),
    }
}

/// The console lines the purgatory printed (from [`prefix`] on): after the
/// first kernel's jump (a kexec's, or a crash's panic), before the next
/// image's first line.
pub fn printed(serial: &str) -> Vec<&str> {
    let prefix = prefix();
    let after = [STARTING_NEW_KERNEL, PANIC]
        .iter()
        .filter_map(|jump| serial.find(jump))
        .min()
        .map_or("", |at| &serial[at..]);
    after
        .lines()
        .take_while(|line| !line.contains(BANNER) && !line.contains(PROBE_REACHED))
        .filter_map(|line| line.find(&prefix).map(|at| line[at..].trim_end()))
        .collect()
}

/// Checks the `printed` lines against the `expected` ones, in order and
/// nothing else; returns the values in each line's holes.
pub fn check<'a>(printed: &[&'a str], expected: &[Expected]) -> Result<Vec<Vec<&'a str>>, String> {
    let mut values = Vec::new();
    for (at, want) in expected.iter().enumerate() {
        let Some(&line) = printed.get(at) else {
            return Err(format!(
                "the purgatory printed no {} (\"{}\") as its line {}; it printed {printed:?}",
                want.what,
                want.line,
                at + 1
            ));
        };
        let Some(found) = want.line.matches(line) else {
            return Err(format!(
                "the purgatory's line {} is {line:?}, not {} (\"{}\"){}; it printed {printed:?}",
                at + 1,
                want.what,
                want.line,
                hint(line)
            ));
        };
        values.push(found);
    }
    match printed.get(expected.len()) {
        Some(extra) => Err(format!(
            "the purgatory printed {extra:?} after its {} expected line(s); it printed {printed:?}",
            expected.len()
        )),
        None => Ok(values),
    }
}

/// What an unexpected line means, where it is one of the purgatory's known lines.
fn hint(line: &str) -> &'static str {
    let overall =
        Template::rendered(|out| report::overall_mismatch(out, &UNKNOWN_DIGEST, &UNKNOWN_DIGEST));
    if overall.matches(line).is_some() {
        " (only the overall digests: no segment failed on its own, were the per-segment digests given?)"
    } else {
        ""
    }
}

#[cfg(test)]
#[path = "purgatory_tests.rs"]
mod tests;
