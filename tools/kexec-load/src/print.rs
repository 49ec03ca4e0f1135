//! The plan for people: a header, one row per segment, then the digest, the
//! purgatory's settings and the hand-off. The e2e suite reads the rows and
//! the `  hash ` line, so their layout stays as it is; programs should read
//! `--json` ([`crate::report`]) instead.

use crate::number::hex;
use crate::plan::Plan;
use purgatory_abi::FailurePolicy;
use std::io::{self, Write};

/// Prints the plan, the byte `--corrupt-after-digest` flipped and the region
/// `--test-region` added.
pub fn print(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "kexec-load: {}", plan.what)?;
    segments(plan, out)?;
    settings(plan, out)?;
    if let Some(boot) = &plan.boot {
        for line in boot.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if let Some(crash) = &plan.crash {
        crash.print(out)?;
    }
    hand_off(plan, out)?;
    for note in &plan.notes {
        writeln!(out, "  note         {note}")?;
    }
    if let Some(corruption) = &plan.corruption {
        writeln!(out, "  {corruption}")?;
    }
    if let Some(region) = &plan.test_region {
        writeln!(out, "  {region}")?;
    }
    Ok(())
}

fn segments(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "  #  segment      start               end                 memsz       bytes       verified"
    )?;
    for (index, s) in plan.segments.iter().enumerate() {
        writeln!(
            out,
            "  {index}  {:<11}  {:#018x}  {:#018x}  {:#010x}  {:#010x}  {}",
            s.name,
            s.addr,
            s.end(),
            s.mem_size,
            s.bytes.len(),
            if s.verified() {
                "yes"
            } else if s.name == "purgatory" {
                "no (holds the digest)"
            } else {
                "no"
            }
        )?;
    }
    Ok(())
}

fn settings(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    let covered: u64 = plan.verified().map(|s| s.mem_size).sum();
    writeln!(
        out,
        "  digest       sha256 {} over {} region(s), {covered:#x} bytes",
        hex(&plan.digest),
        plan.verified().count()
    )?;
    writeln!(out, "  purgatory    {} ", plan.purgatory_policy)?;
    writeln!(
        out,
        "  hash         {}: {}",
        plan.hash.path.name(),
        plan.hash.why
    )?;
    writeln!(out, "  console      {}", plan.console)?;
    writeln!(
        out,
        "  on-failure   {}",
        match plan.on_failure {
            FailurePolicy::Halt => "halt (cli; hlt, as Linux)",
            FailurePolicy::Reset => "reset (port 0xcf9, else a triple fault)",
        }
    )
}

fn hand_off(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "  entry        {:#x} (purgatory_start)", plan.entry)?;
    let r = &plan.regs;
    writeln!(
        out,
        "  hand-off     rip={:#x} rsi={:#x} rsp={:#x} rbx={:#x}",
        r.rip, r.rsi, r.rsp, r.rbx
    )?;
    if r.rax != 0 {
        writeln!(
            out,
            "               rax={:#x} rcx={:#x} rdx={:#x} rbp={:#x} rdi={:#x} r8..r15={:#x}..{:#x}",
            r.rax, r.rcx, r.rdx, r.rbp, r.rdi, r.r8, r.r15
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::BzImage;
    use crate::plan::build;
    use crate::request::PurgatoryAddr;
    use crate::support::synthetic_bzimage;
    use crate::testing::{bz_request, qemu_6g};
    use purgatory_abi::Cpuid;

    /// The table of a bzImage plan with `edit` applied to its request.
    fn printed(edit: impl FnOnce(&mut crate::request::Request<'_>)) -> String {
        let bytes = synthetic_bzimage(0x3000);
        let mut request = bz_request(BzImage::parse(&bytes).unwrap(), None, PurgatoryAddr::High);
        edit(&mut request);
        let mut text = Vec::new();
        print(&build(request, &qemu_6g()).unwrap(), &mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_plan_announces_the_hash_path() {
        let text = printed(|request| {
            request.cpuid = Cpuid {
                max_leaf: 7,
                leaf1_ecx: 1 << 9 | 1 << 19,
                leaf1_edx: 7 << 24,
                leaf7_ebx: 1 << 29,
            };
        });
        assert!(
            text.lines()
                .any(|l| l == "  hash         sha-ni: the CPU has SHA, SSSE3 and SSE4.1"),
            "{text}"
        );
    }

    #[test]
    fn console_and_reset_are_printed() {
        let text = printed(|request| {
            request.console = crate::console::given(0x2f8);
            request.on_failure = FailurePolicy::Reset;
        });
        assert!(
            text.contains("  console      16550 at 0x2f8, 115200 8N1 (ttyS1, --console)"),
            "{text}"
        );
        assert!(text.contains("  on-failure   reset"), "{text}");
    }
}
