//! `cargo xtask check <ELF> [--json]`: the contract verdict on any file.

use purgatory_host::check::{self, Violation};
use serde_json::{Value, json};
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
    if json {
        println!("{}", json_report(path, &verdict));
    } else {
        print_text(path, &verdict);
    }
    ExitCode::from(code)
}

fn print_text(path: &Path, verdict: &Result<Vec<Violation>, String>) {
    let path = path.display();
    match verdict {
        Ok(violations) if violations.is_empty() => {
            println!("{path}: meets the purgatory contract (0 relocations, 0 undefined symbols)");
        }
        Ok(violations) => {
            println!("{path}: {} contract violation(s)", violations.len());
            for violation in violations {
                println!("  [{}] {violation}", violation.rule());
            }
        }
        Err(why) => eprintln!("{path}: unreadable: {why}"),
    }
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
