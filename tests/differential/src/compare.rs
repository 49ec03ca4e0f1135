//! The comparison: every judge on one file, and the first way they disagree.

use std::fmt;

use crate::checker::Checker;
use crate::library::Library;
use crate::verdict::{Judge, Verdict};

/// Judges that disagree about one file, with every verdict.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Which agreement broke.
    pub what: &'static str,
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

/// Runs the checker (structural rules, then all), the library and `kernel`
/// on `elf`; Err with the first agreement that breaks (see the crate docs).
pub fn compare(elf: &[u8], kernel: &dyn Judge) -> Result<(), Disagreement> {
    let structural = Checker {
        structural_only: true,
    };
    let checker = Checker {
        structural_only: false,
    };
    let judges: [&dyn Judge; 4] = [&structural, &checker, &Library, kernel];
    let verdicts: Vec<_> = judges.iter().map(|j| (j.name(), j.judge(elf))).collect();
    let disagree = |what| {
        Err(Disagreement {
            what,
            verdicts: verdicts.clone(),
        })
    };
    let [(_, structural), (_, checker), (_, library), (_, kernel)] = &verdicts[..] else {
        unreachable!("four judges");
    };
    if verdicts.iter().any(|(_, v)| matches!(v, Verdict::Fault(_))) {
        return disagree("a judge faulted");
    }
    match (structural, library) {
        (Verdict::Accepted(a), Verdict::Accepted(b)) if a != b => {
            return disagree("the checker and the library read the file differently");
        }
        (Verdict::Accepted(_), Verdict::Accepted(_))
        | (Verdict::Refused(_), Verdict::Refused(_)) => {}
        _ => return disagree("the checker's structural rules and the library disagree"),
    }
    if let Verdict::Accepted(reading) = checker {
        match kernel {
            Verdict::Accepted(kernel) if kernel == reading => {}
            Verdict::Accepted(_) => {
                return disagree("the kernel reads a file the checker passed differently");
            }
            _ => return disagree("the kernel refuses a file the checker passed"),
        }
    }
    Ok(())
}
