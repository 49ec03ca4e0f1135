//! The command line (the binary's module): the options of every build, and
//! with the `e2e` feature the QEMU suite's test options.

use clap::Parser;
use kexec_load::console::parse_console;
use kexec_load::crash::sources::PROCFS_ROOT;
use kexec_load::number::parse_u64;
use kexec_load::request::{PurgatoryAddr, parse_failure_policy};
use kexec_load::sysfs::SYSFS_ROOT;
use purgatory_abi::FailurePolicy;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Parser)]
#[command(
    name = "kexec-load",
    version,
    about = "Load a bzImage through kexec_load(2) with the relocation-free purgatory, and reboot into it",
    long_about = "Load an x86_64 bzImage through kexec_load(2) with the relocation-free purgatory \
        embedded in this tool. The purgatory checks a SHA-256 of every other segment before it \
        starts the kernel through the 64-bit boot protocol.\n\n\
        Without --exec the image stays loaded until a `kexec-load --exec-loaded` or another \
        kexec reboot; --dry-run prints the plan and needs no privilege.\n\n\
        With -p the image is a crash (capture) kernel, loaded into the crashkernel= reservation: \
        a panic boots it through the purgatory, and it reads the dead kernel's memory from \
        /proc/vmcore.",
    after_help = "Examples:\n  \
        kexec-load --dry-run /boot/vmlinuz --initrd /boot/initrd.img --reuse-cmdline\n  \
        kexec-load --dry-run --json /boot/vmlinuz --initrd /boot/initrd.img\n  \
        kexec-load /boot/vmlinuz --initrd /boot/initrd.img --append 'console=ttyS0 root=/dev/vda1' --exec\n  \
        kexec-load -p /boot/vmlinuz --initrd /boot/initrd.img --append 'console=ttyS0 irqpoll nr_cpus=1 reset_devices'\n  \
        kexec-load -u -p"
)]
pub struct Args {
    /// The kernel (bzImage).
    #[arg(required_unless_present_any = ["unload", "exec_loaded"])]
    pub image: Option<PathBuf>,

    /// The initrd (initramfs) to hand to the kernel.
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,

    /// The kernel command line (after --reuse-cmdline's, if both).
    #[arg(long, alias = "command-line", value_name = "CMDLINE")]
    pub append: Option<String>,

    /// Start from the running kernel's command line (/proc/cmdline).
    #[arg(long)]
    pub reuse_cmdline: bool,

    /// Where the purgatory goes: low, high (default; the top of RAM, as Linux places it),
    /// below-4g (the highest room ending at or below 4 GiB), random (see --seed), or an address.
    #[arg(long, value_name = "WHERE", default_value = "high", value_parser = PurgatoryAddr::from_str)]
    pub purgatory_addr: PurgatoryAddr,

    /// Seed for `--purgatory-addr random` (default: from the clock; printed either way).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    pub seed: Option<u64>,

    /// Leave the purgatory's region table empty: it verifies nothing.
    #[arg(long)]
    pub no_verify: bool,

    /// Have the purgatory hash with its portable code even on a CPU with SHA
    /// extensions (sets FLAG_SOFTWARE_SHA256 in purgatory_flags).
    #[arg(long)]
    pub software_sha256: bool,

    /// The purgatory's console: ttyS0..ttyS3 or the I/O port of a 16550
    /// (port I/O only; it is programmed at 115200 8N1). Default: the running
    /// kernel's console if that is a port-I/O serial port, else none.
    #[arg(long, value_name = "ttySN|PORT", value_parser = parse_console)]
    pub console: Option<u16>,

    /// The purgatory prints nothing and touches no I/O port.
    #[arg(long, conflicts_with = "console")]
    pub no_console: bool,

    /// What the purgatory does if verification fails: halt (the CPU stops,
    /// as Linux's purgatory does) or reset (reboot into the firmware).
    #[arg(long, value_name = "halt|reset", default_value = "halt", value_parser = parse_failure_policy)]
    pub on_failure: FailurePolicy,

    /// Hand the next kernel a BIOS-style zero page even when this one was
    /// booted through UEFI: no efi_info, EFI memory map or SETUP_EFI, hence no
    /// EFI runtime services there (the ACPI RSDP, the RNG seed and the whole
    /// e820 map are still passed).
    #[arg(long)]
    pub noefi: bool,

    /// The firmware memory map to place segments in and pass on
    /// [default: SYSFS/firmware/memmap]; with -p, iomem under --procfs.
    #[arg(long, value_name = "DIR")]
    pub memmap: Option<PathBuf>,

    /// Where to read the running system from: the memory map, the boot
    /// parameters, the EFI state, the lockdown state and the console.
    #[arg(long, value_name = "SYSFS", default_value = SYSFS_ROOT)]
    pub sysfs: PathBuf,

    /// Load a crash (capture) kernel that a panic boots (kexec_load with
    /// KEXEC_ON_CRASH) into the crashkernel= reservation, with the ELF core
    /// headers it reads /proc/vmcore from. With --unload: unload it.
    #[arg(short = 'p', long, conflicts_with_all = ["exec", "exec_loaded"])]
    pub load_panic: bool,

    /// With -p: where to read iomem and kcore from (a fixture for a dry run);
    /// the crash notes and VMCOREINFO come from --sysfs.
    #[arg(long, value_name = "PROCFS", default_value = PROCFS_ROOT, requires = "load_panic")]
    pub procfs: PathBuf,

    /// Print the plan (segments, addresses, sizes, digest) and load nothing.
    #[arg(long, conflicts_with_all = ["exec", "unload"])]
    pub dry_run: bool,

    /// Print the plan as one JSON object on one line, {"kexec_load_plan":{…}},
    /// instead of the table; the progress lines go to stderr.
    #[arg(long, conflicts_with_all = ["unload", "exec_loaded"])]
    pub json: bool,

    /// After loading, reboot into the image (reboot(LINUX_REBOOT_CMD_KEXEC)).
    #[arg(long)]
    pub exec: bool,

    /// Reboot into the image loaded earlier; load nothing.
    #[arg(long, conflicts_with_all = ["image", "unload", "exec"])]
    pub exec_loaded: bool,

    /// Unload the image loaded earlier (with -p: the crash kernel).
    #[arg(short = 'u', long, conflicts_with_all = ["image", "exec"])]
    pub unload: bool,

    #[cfg(feature = "e2e")]
    #[command(flatten)]
    pub test: TestOptions,
}

/// The QEMU suite's test payloads (`cargo build -p kexec-load --features e2e`).
#[cfg(feature = "e2e")]
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Test options (the e2e feature)")]
pub struct TestOptions {
    /// IMAGE is a flat payload entered at load + --entry-offset, not a bzImage.
    /// RSI then points at an expectation page (magic, entry64_regs, the CR0/CR4
    /// the kexec sets up, purgatory_flags, the digest's offset in the purgatory,
    /// the IDT the running kernel's kexec leaves)
    /// and every other register holds a distinctive value: the register probe's
    /// protocol.
    #[arg(long, conflicts_with_all = ["initrd", "append", "reuse_cmdline", "noefi", "load_panic"])]
    pub raw: bool,

    /// With --raw: the entry point's offset in the payload.
    #[arg(long, value_name = "OFFSET", default_value = "0", value_parser = parse_u64, requires = "raw")]
    pub entry_offset: u64,

    /// With --raw: where the payload goes (default: 16 MiB or the next free 2 MiB boundary).
    #[arg(long, value_name = "ADDR", value_parser = parse_u64, requires = "raw")]
    pub load_addr: Option<u64>,

    /// After the digest is computed, flip one byte of SEGMENT (kernel,
    /// initrd, boot-params, payload, expectation), at +OFFSET or its middle.
    /// The purgatory must then refuse to start the image.
    #[arg(long, value_name = "SEGMENT[+OFFSET]", value_parser = parse_corruption)]
    pub corrupt_after_digest: Option<CorruptionSpec>,

    /// After the digest is computed, append {ADDR, LEN} to the purgatory's
    /// region table: memory nothing loads. At an address the kexec does not
    /// map, the purgatory must report a page fault and apply --on-failure.
    #[arg(long, value_name = "ADDR:LEN", value_parser = parse_test_region)]
    pub test_region: Option<TestRegionSpec>,
}

/// `--test-region`'s value.
#[cfg(feature = "e2e")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRegionSpec {
    pub start: u64,
    pub len: u64,
}

/// `ADDR:LEN`.
#[cfg(feature = "e2e")]
fn parse_test_region(text: &str) -> Result<TestRegionSpec, String> {
    let (start, len) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected ADDR:LEN"))?;
    Ok(TestRegionSpec {
        start: parse_u64(start)?,
        len: parse_u64(len)?,
    })
}

/// `--corrupt-after-digest`'s value.
#[cfg(feature = "e2e")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptionSpec {
    pub segment: String,
    /// `None`: the middle of the segment's bytes.
    pub offset: Option<u64>,
}

/// `SEGMENT[+OFFSET]`.
#[cfg(feature = "e2e")]
fn parse_corruption(text: &str) -> Result<CorruptionSpec, String> {
    let (segment, offset) = match text.split_once('+') {
        Some((name, offset)) => (name, Some(parse_u64(offset)?)),
        None => (text, None),
    };
    Ok(CorruptionSpec {
        segment: segment.to_owned(),
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn usage_errors() {
        assert!(Args::try_parse_from(["kexec-load", "--dry-run", "x", "--exec"]).is_err());
        assert!(Args::try_parse_from(["kexec-load"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "--unload"]).is_ok());
        assert!(Args::try_parse_from(["kexec-load", "--unload", "--json"]).is_err());
        let args = Args::try_parse_from(["kexec-load", "x", "--dry-run", "--json"]).unwrap();
        assert!(args.json && args.dry_run);
    }

    #[cfg(not(feature = "e2e"))]
    #[test]
    fn test_options_need_the_e2e_feature() {
        for option in [
            "--raw",
            "--corrupt-after-digest=kernel",
            "--entry-offset=4",
            "--load-addr=0",
            "--test-region=0x1000:0x10",
        ] {
            assert!(
                Args::try_parse_from(["kexec-load", "x", option]).is_err(),
                "{option}"
            );
        }
    }

    #[cfg(feature = "e2e")]
    #[test]
    fn raw_options_need_raw() {
        assert!(Args::try_parse_from(["kexec-load", "x", "--entry-offset", "4"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "x", "--raw", "--initrd", "i"]).is_err());
        let args =
            Args::try_parse_from(["kexec-load", "x", "--raw", "--load-addr", "0x200000"]).unwrap();
        assert_eq!(
            (args.test.raw, args.test.load_addr),
            (true, Some(0x20_0000))
        );
    }

    #[cfg(feature = "e2e")]
    #[test]
    fn corruption_specs() {
        let spec = |segment: &str, offset| CorruptionSpec {
            segment: segment.into(),
            offset,
        };
        assert_eq!(
            parse_corruption("kernel+0x10"),
            Ok(spec("kernel", Some(0x10)))
        );
        assert_eq!(parse_corruption("initrd"), Ok(spec("initrd", None)));
        assert!(parse_corruption("initrd+x").is_err());
    }

    #[cfg(feature = "e2e")]
    #[test]
    fn test_region_specs() {
        assert_eq!(
            parse_test_region("0x1000000000:0x1000"),
            Ok(TestRegionSpec {
                start: 1 << 36,
                len: 0x1000
            })
        );
        assert!(
            parse_test_region("0x1000")
                .unwrap_err()
                .contains("ADDR:LEN")
        );
        assert!(parse_test_region("0x1000:x").is_err());
        let args = Args::try_parse_from(["kexec-load", "x", "--test-region", "4096:16"]).unwrap();
        assert_eq!(
            args.test.test_region,
            Some(TestRegionSpec {
                start: 4096,
                len: 16
            })
        );
    }

    #[test]
    fn crash_options() {
        let args = Args::try_parse_from(["kexec-load", "-p", "x", "--procfs", "/tmp/f"]).unwrap();
        assert!(args.load_panic && !args.unload);
        assert_eq!(args.procfs, PathBuf::from("/tmp/f"));
        let args = Args::try_parse_from(["kexec-load", "-u", "-p"]).unwrap();
        assert!(args.load_panic && args.unload);
        assert!(Args::try_parse_from(["kexec-load", "-p", "x", "--exec"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "-p", "--exec-loaded"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "x", "--procfs", "/tmp/f"]).is_err());
        #[cfg(feature = "e2e")]
        assert!(Args::try_parse_from(["kexec-load", "-p", "x", "--raw"]).is_err());
    }

    #[test]
    fn console_and_failure_options() {
        let args = Args::try_parse_from(["kexec-load", "x", "--console", "ttyS1"]).unwrap();
        assert_eq!(
            (args.console, args.on_failure),
            (Some(0x2f8), FailurePolicy::Halt)
        );
        let args = Args::try_parse_from(["kexec-load", "x", "--on-failure", "reset"]).unwrap();
        assert_eq!(args.on_failure, FailurePolicy::Reset);
        assert!(Args::try_parse_from(["kexec-load", "x", "--on-failure", "panic"]).is_err());
        assert!(
            Args::try_parse_from(["kexec-load", "x", "--console", "0x3f8", "--no-console"])
                .is_err()
        );
        assert!(Args::try_parse_from(["kexec-load", "x", "--console", "ttyAMA0"]).is_err());
    }
}
