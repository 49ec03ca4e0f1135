//! `cargo xtask check <ELF> [--json]`: the contract verdict on any file, as
//! the `purgatory-check` binary gives it (same output, same exit codes).

use purgatory_check::report;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, json: bool) -> ExitCode {
    let verdict = report::check_file(path);
    let output = if json {
        format!("{}\n", report::json(path, &verdict))
    } else {
        if let Some(line) = report::unreadable_line(path, &verdict) {
            eprintln!("{line}");
        }
        report::text(path, &verdict)
    };
    // A reader that stops early (`| head`) closes the pipe: the verdict is
    // still the exit code, so a failed write is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(output.as_bytes());
    ExitCode::from(report::exit_code(&verdict))
}
