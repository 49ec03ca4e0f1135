//! The command line as a user meets it. Only `--dry-run` and refusals are
//! exercised: a test must never call the real `kexec_load` on the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kexec-load-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sysfs-like memory map: 640 KiB low RAM and 1 GiB from 1 MiB.
fn memmap(dir: &Path) -> PathBuf {
    let map = dir.join("memmap");
    for (index, (start, end, kind)) in [
        (0x0u64, 0x9_fbffu64, "System RAM"),
        (0x9_fc00, 0xf_ffff, "Reserved"),
        (0x10_0000, 0x400f_ffff, "System RAM"),
    ]
    .iter()
    .enumerate()
    {
        let entry = map.join(index.to_string());
        std::fs::create_dir_all(&entry).unwrap();
        std::fs::write(entry.join("start"), format!("{start:#x}\n")).unwrap();
        std::fs::write(entry.join("end"), format!("{end:#x}\n")).unwrap();
        std::fs::write(entry.join("type"), format!("{kind}\n")).unwrap();
    }
    map
}

fn kexec_load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kexec-load"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn dry_run_prints_the_plan() {
    let dir = scratch("dry-run");
    let map = memmap(&dir);
    let payload = dir.join("payload.bin");
    std::fs::write(&payload, vec![0x90u8; 0x1800]).unwrap();
    let out = kexec_load(&[
        "--dry-run",
        "--raw",
        payload.to_str().unwrap(),
        "--entry-offset",
        "0x10",
        "--purgatory-addr",
        "random",
        "--seed",
        "42",
        "--memmap",
        map.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for needle in [
        "payload      0x0000000001000000",
        "expectation  0x0000000000010000",
        "purgatory    0x",
        "no (holds the digest)",
        "digest       sha256 ",
        "random fit (seed 42)",
        "rip=0x1000010",
        "dry run, nothing loaded",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    // The same seed gives the same plan.
    let again = kexec_load(&[
        "--dry-run",
        "--raw",
        payload.to_str().unwrap(),
        "--entry-offset",
        "0x10",
        "--purgatory-addr",
        "random",
        "--seed",
        "42",
        "--memmap",
        map.to_str().unwrap(),
    ]);
    assert_eq!(text(&again.stdout), stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refusals_name_their_cause() {
    let dir = scratch("refusals");
    let map = memmap(&dir);
    let not_a_kernel = dir.join("not-a-kernel");
    std::fs::write(&not_a_kernel, vec![0u8; 0x1000]).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&[not_a_kernel.to_str().unwrap()], "no boot flag 0xAA55"),
        (
            &["/nonexistent/vmlinuz"],
            "cannot read /nonexistent/vmlinuz",
        ),
        (
            &[
                "--raw",
                not_a_kernel.to_str().unwrap(),
                "--purgatory-addr",
                "0x100000000",
            ],
            "is not inside one System RAM range",
        ),
        (
            &[
                "--raw",
                not_a_kernel.to_str().unwrap(),
                "--corrupt-after-digest",
                "kernel",
            ],
            "no segment named \"kernel\"",
        ),
    ];
    for (args, needle) in cases {
        let mut full = vec!["--dry-run", "--memmap", map.to_str().unwrap()];
        full.extend_from_slice(args);
        let out = kexec_load(&full);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{full:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{full:?}: {needle:?} missing from {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_are_clap_errors() {
    let out = kexec_load(&["--entry-offset", "4", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--raw"));
}
