//! The comparison: every judge on one file, and the first way they disagree.

use std::fmt;

use crate::checker::Checker;
use crate::library::Library;
use crate::verdict::{Judge, Verdict};

/// The checker's rules the patched kernel enforces in full: a file that
/// breaks one is refused by the kernel too (`kernel/patches/0001`,
/// `kexec_purgatory_check_phdr`, `_check_sections`, `_check_symtab`; 0003,
/// `kexec_purgatory_check_file`). The kernel enforces others in part (only
/// for the symbols it uses, say) and the rest not at all: the checker is
/// stricter there on purpose.
pub const KERNEL_ENFORCED_RULES: [&str; 21] = [
    "elf-class",
    "elf-endianness",
    "elf-version",
    "elf-machine",
    "elf-type",
    "program-headers",
    "program-header-type",
    "segment-offset",
    "segment-vaddr",
    "segment-sizes",
    "segment-too-large",
    "segment-align",
    "segment-outside-file",
    "entry-outside-file",
    "section-headers",
    "section-outside-file",
    "missing-symtab",
    "symtab-link",
    "symtab-entry-size",
    "symbol-name-outside-strtab",
    "symbol-section-index",
];

/// Judges that disagree about one file, with every verdict.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Which agreement broke.
    pub what: String,
    /// Each judge's name and verdict.
    pub verdicts: Vec<(&'static str, Verdict)>,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.what)?;
        for (name, verdict) in &self.verdicts {
            write!(f, "\n  {name}: {verdict:?}")?;
        }
        Ok(())
    }
}

/// Runs the checker (structural rules, then all), the library and, if there
/// is one, `kernel` on `elf`; Err with the first agreement that breaks (see
/// the crate docs).
pub fn compare(elf: &[u8], kernel: Option<&dyn Judge>) -> Result<(), Disagreement> {
    let structural = Checker {
        structural_only: true,
    };
    let checker = Checker {
        structural_only: false,
    };
    let mut judges: Vec<&dyn Judge> = vec![&structural, &checker, &Library];
    judges.extend(kernel);
    let verdicts: Vec<_> = judges.iter().map(|j| (j.name(), j.judge(elf))).collect();
    let disagree = |what: String| {
        Err(Disagreement {
            what,
            verdicts: verdicts.clone(),
        })
    };
    if verdicts.iter().any(|(_, v)| matches!(v, Verdict::Fault(_))) {
        return disagree("a judge faulted".into());
    }
    match (&verdicts[0].1, &verdicts[2].1) {
        (Verdict::Accepted(a), Verdict::Accepted(b)) if a != b => {
            return disagree("the checker and the library read the file differently".into());
        }
        (Verdict::Accepted(_), Verdict::Accepted(_))
        | (Verdict::Refused(_), Verdict::Refused(_)) => {}
        _ => return disagree("the checker's structural rules and the library disagree".into()),
    }
    let Some((_, kernel)) = verdicts.get(3) else {
        return Ok(());
    };
    match (&verdicts[1].1, kernel) {
        (Verdict::Accepted(reading), Verdict::Accepted(kernel)) if kernel != reading => {
            disagree("the kernel reads a file the checker passed differently".into())
        }
        (Verdict::Accepted(_), Verdict::Refused(_)) => {
            disagree("the kernel refuses a file the checker passed".into())
        }
        (Verdict::Refused(_), Verdict::Accepted(_)) => {
            let enforced: Vec<_> = checker
                .rules(elf)
                .into_iter()
                .filter(|rule| KERNEL_ENFORCED_RULES.contains(rule))
                .collect();
            if enforced.is_empty() {
                Ok(())
            } else {
                disagree(format!(
                    "the kernel accepts a file that breaks {}, which it enforces",
                    enforced.join(", ")
                ))
            }
        }
        _ => Ok(()),
    }
}
