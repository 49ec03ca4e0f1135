//! The findings of one check, at most [`MAX_FINDINGS_PER_RULE`] listed per
//! rule and the rest counted.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::limits::MAX_FINDINGS_PER_RULE;
use super::violation::Violation;

/// The findings so far. The structural rules fill it first
/// ([`structural_findings`](super::structural_findings)); `purgatory-check`
/// adds the instruction rules' before [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct Findings {
    list: Vec<Violation>,
    counts: BTreeMap<&'static str, usize>,
}

impl Findings {
    /// Records `violation`.
    pub fn push(&mut self, violation: Violation) {
        self.push_with(violation.rule(), || violation);
    }

    /// Counts a finding of `rule` and lists the one `make` builds while the
    /// rule is under its limit; past it, the finding is not even built.
    pub fn push_with(&mut self, rule: &'static str, make: impl FnOnce() -> Violation) {
        let count = self.counts.entry(rule).or_default();
        *count = count.saturating_add(1);
        if *count <= MAX_FINDINGS_PER_RULE {
            self.list.push(make());
        }
    }

    /// Whether nothing was found so far.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The findings in the order found, then one [`Violation::MoreFindings`]
    /// per rule that went past the limit.
    pub fn finish(mut self) -> Vec<Violation> {
        for (rule, count) in self.counts {
            if let Some(omitted) = count.checked_sub(MAX_FINDINGS_PER_RULE).filter(|&n| n > 0) {
                self.list.push(Violation::MoreFindings { rule, omitted });
            }
        }
        self.list
    }
}
