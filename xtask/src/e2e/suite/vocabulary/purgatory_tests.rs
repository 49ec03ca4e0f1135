//! The lines are made here as the purgatory makes them, with its library and
//! made-up values.

use super::*;
use crate::e2e::suite::vocabulary::plan::read;
use crate::e2e::suite::vocabulary::plan::tests::{SEGMENTS, corrupted_plan_line, plan_log};
use crate::e2e::suite::vocabulary::template::{Text, written};
use purgatory_abi::HashPath;

const TARGET: u64 = 0x100_0200;

fn line(write: impl FnOnce(&mut Text)) -> String {
    written(write)
}

/// The plan, the jump, `lines` from the purgatory, and a second kernel that
/// prints a line that looks like the purgatory's.
fn serial(lines: &[String]) -> String {
    format!(
        "{}[    2.2] kexec_core: Starting new kernel\r\n{}[    0.0] Linux version 6.12\r\n{}",
        plan_log(),
        lines.concat(),
        line(|out| report::jumping(out, 1))
    )
}

fn passing_lines(plan: &Plan, path: HashPath, target: u64) -> Vec<String> {
    let bytes = plan.covered();
    vec![
        line(|out| report::started(out, &plan.regions().unwrap(), path)),
        line(|out| report::verified(out, true, bytes, 123_456)),
        line(|out| report::jumping(out, target)),
    ]
}

#[test]
fn a_passing_load_shows_its_plan_the_ticks_and_the_jump() {
    let plan = read(&plan_log()).unwrap();
    let expected = passing_regions(&plan.regions().unwrap(), plan.hash, TARGET);
    let good = serial(&passing_lines(&plan, HashPath::ShaNi, TARGET));
    let values = check(&printed(&good), &expected).unwrap();
    assert_eq!(values, [vec![], vec!["123456"], vec![]]);

    let other_path = serial(&passing_lines(&plan, HashPath::Software, TARGET));
    let why = check(&printed(&other_path), &expected).unwrap_err();
    assert!(
        why.contains("line 1") && why.contains("sha-ni path"),
        "{why}"
    );
    let elsewhere = serial(&passing_lines(&plan, HashPath::ShaNi, TARGET + 1));
    let why = check(&printed(&elsewhere), &expected).unwrap_err();
    assert!(why.contains("hand-off target"), "{why}");
    let why = check(&printed(&plan_log()), &expected).unwrap_err();
    assert!(why.contains("printed no"), "{why}");
}

fn refusing_lines(plan: &Plan, index: usize, policy: FailurePolicy) -> Vec<String> {
    let regions = plan.regions().unwrap();
    let fault = SegmentFault {
        index,
        region: regions[index],
        fault: Fault::Mismatch {
            expected: [1; 32],
            computed: [2; 32],
        },
    };
    vec![
        line(|out| report::started(out, &regions, plan.hash)),
        line(|out| report::verified(out, false, plan.covered(), 99)),
        line(|out| report::segment_fault(out, &fault)),
        line(|out| report::stopping(out, policy)),
    ]
}

#[test]
fn a_refusal_names_exactly_the_flipped_segment_then_stops() {
    let plan = read(&corrupted_plan_line(SEGMENTS)).unwrap();
    let flipped = plan.corruption.clone().unwrap();
    let expected = refusing(&plan, &flipped, FailurePolicy::Halt).unwrap();
    let good = serial(&refusing_lines(&plan, 0, FailurePolicy::Halt));
    assert!(check(&printed(&good), &expected).is_ok());

    let reset = serial(&refusing_lines(&plan, 0, FailurePolicy::Halt));
    let want_reset = refusing(&plan, &flipped, FailurePolicy::Reset).unwrap();
    let why = check(&printed(&reset), &want_reset).unwrap_err();
    assert!(why.contains("line 4") && why.contains("Reset"), "{why}");

    let other = serial(&refusing_lines(&plan, 1, FailurePolicy::Halt));
    let why = check(&printed(&other), &expected).unwrap_err();
    assert!(why.contains("the one kexec-load flipped"), "{why}");

    let mut overall = refusing_lines(&plan, 0, FailurePolicy::Halt);
    overall[2] = line(|out| report::overall_mismatch(out, &[1; 32], &[2; 32]));
    let why = check(&printed(&serial(&overall)), &expected).unwrap_err();
    assert!(why.contains("overall digests"), "{why}");

    let wrong = Corruption {
        segment_start: 0x200_0000,
        ..flipped
    };
    assert!(refusing(&plan, &wrong, FailurePolicy::Halt).is_err());
}

#[test]
fn nothing_more_may_follow_and_nothing_before_the_jump_counts() {
    let plan = read(&plan_log()).unwrap();
    let mut lines = passing_lines(&plan, HashPath::ShaNi, TARGET);
    lines.push(line(|out| report::stopping(out, FailurePolicy::Halt)));
    let why = check(
        &printed(&serial(&lines)),
        &passing_regions(&plan.regions().unwrap(), plan.hash, TARGET),
    )
    .unwrap_err();
    assert!(why.contains("after its 3 expected line(s)"), "{why}");
    let before = format!("{}{}", line(|out| report::jumping(out, TARGET)), plan_log());
    assert!(printed(&before).is_empty());
}

#[test]
fn every_line_starts_with_the_prefix() {
    let prefix = prefix();
    assert!(prefix.ends_with(' ') && prefix.len() > 1, "{prefix:?}");
    let plan = read(&plan_log()).unwrap();
    let mut lines = passing_lines(&plan, HashPath::ShaNi, TARGET);
    lines.extend(refusing_lines(&plan, 0, FailurePolicy::Reset));
    lines.push(line(|out| {
        report::overall_mismatch(out, &[1; 32], &[2; 32])
    }));
    for line in lines {
        assert!(line.starts_with(&prefix), "{line:?}");
    }
}
