//! A verdict as people and programs read it: the text report, the stable
//! JSON form, and the exit code (0 clean, 1 violations, 2 unreadable).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use purgatory_host::contract::{Unreadable, Violation};

/// The checker's verdict on one file, or why the file could not be judged.
pub type Verdict = Result<Vec<Violation>, String>;

/// The exit code of a clean file.
pub const CLEAN: u8 = 0;
/// The exit code of a file with violations.
pub const VIOLATIONS: u8 = 1;
/// The exit code of a file that cannot be read or parsed as an ELF.
pub const UNREADABLE: u8 = 2;

/// Reads and checks the file at `path`.
pub fn check_file(path: &Path) -> Verdict {
    std::fs::read(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))
        .and_then(|bytes| crate::check::check(&bytes).map_err(|why: Unreadable| why.to_string()))
}

/// [`CLEAN`], [`VIOLATIONS`] or [`UNREADABLE`].
pub fn exit_code(verdict: &Verdict) -> u8 {
    match verdict {
        Ok(violations) if violations.is_empty() => CLEAN,
        Ok(_) => VIOLATIONS,
        Err(_) => UNREADABLE,
    }
}

/// The text report for standard output: one line for a clean file, or a
/// count and one line per violation with its rule id. An unreadable file
/// gives no standard output; its reason is [`unreadable_line`]'s.
pub fn text(path: &Path, verdict: &Verdict) -> String {
    let path = path.display();
    let mut text = String::new();
    match verdict {
        Ok(violations) if violations.is_empty() => {
            let _ = writeln!(
                text,
                "{path}: meets the purgatory contract (0 relocations, 0 undefined symbols)"
            );
        }
        Ok(violations) => {
            let _ = writeln!(text, "{path}: {} contract violation(s)", violations.len());
            for violation in violations {
                let _ = writeln!(text, "  [{}] {violation}", violation.rule());
            }
        }
        Err(_) => {}
    }
    text
}

/// The line for standard error when the file cannot be judged.
pub fn unreadable_line(path: &Path, verdict: &Verdict) -> Option<String> {
    verdict
        .as_ref()
        .err()
        .map(|why| format!("{}: unreadable: {why}", path.display()))
}

/// The stable machine-readable form: `file`, `ok`, then either `error` or the
/// list of violations, each with its rule id, message and location.
pub fn json(path: &Path, verdict: &Verdict) -> Value {
    let file = path.display().to_string();
    match verdict {
        Ok(violations) => json!({
            "file": file,
            "ok": violations.is_empty(),
            "violations": violations.iter().map(violation_json).collect::<Vec<_>>(),
        }),
        Err(why) => json!({ "file": file, "ok": false, "error": why }),
    }
}

fn violation_json(violation: &Violation) -> Value {
    let at = violation.location();
    json!({
        "rule": violation.rule(),
        "message": violation.to_string(),
        "section": at.section,
        "symbol": at.symbol,
        "address": at.address,
        "instruction": at.instruction,
    })
}
