//! `cargo xtask check <ELF> [--json]`: the contract verdict on any file.

use purgatory_host::check::{self, Violation};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

const CLEAN: u8 = 0;
const VIOLATIONS: u8 = 1;
const UNREADABLE: u8 = 2;

pub fn run(path: &Path, json: bool) -> ExitCode {
    let verdict = std::fs::read(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))
        .and_then(|bytes| check::check(&bytes).map_err(|why| why.to_string()));
    let code = match &verdict {
        Ok(violations) if violations.is_empty() => CLEAN,
        Ok(_) => VIOLATIONS,
        Err(_) => UNREADABLE,
    };
    let report = if json {
        format!("{}\n", json_report(path, &verdict))
    } else {
        text_report(path, &verdict)
    };
    // A reader that stops early (`| head`) closes the pipe: the verdict is
    // still the exit code, so a failed write is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(report.as_bytes());
    ExitCode::from(code)
}

fn text_report(path: &Path, verdict: &Result<Vec<Violation>, String>) -> String {
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
        Err(why) => eprintln!("{path}: unreadable: {why}"),
    }
    text
}

/// The stable machine-readable form: `ok`, then either `error` or the list of
/// violations, each with its rule id, message and location.
fn json_report(path: &Path, verdict: &Result<Vec<Violation>, String>) -> Value {
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
