//! `purgatory-check <ELF> [--json]`: the contract verdict on any file. Exit
//! code 0 when it meets the contract, 1 with violations, 2 when it cannot be
//! read as an ELF (or the arguments are wrong).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use purgatory_check::report;

const USAGE: &str = "usage: purgatory-check <ELF> [--json]";

fn main() -> ExitCode {
    let mut json = false;
    let mut path = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--json") => json = true,
            Some("-h" | "--help") => {
                println!("{USAGE}\n\nJudges a purgatory ELF against the kexec purgatory contract.");
                return ExitCode::SUCCESS;
            }
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return usage(),
        }
    }
    let Some(path) = path else { return usage() };
    let verdict = report::check_file(&path);
    let output = if json {
        format!("{}\n", report::json(&path, &verdict))
    } else {
        if let Some(line) = report::unreadable_line(&path, &verdict) {
            eprintln!("{line}");
        }
        report::text(&path, &verdict)
    };
    // A reader that stops early (`| head`) closes the pipe: the verdict is
    // still the exit code, so a failed write is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(output.as_bytes());
    ExitCode::from(report::exit_code(&verdict))
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(report::UNREADABLE)
}
