//! The command line.

use crate::console::parse_console;
use crate::memmap::SYSFS_MEMMAP;
use crate::plan::PurgatoryAddr;
use clap::Parser;
use purgatory_abi::FailurePolicy;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kexec-load",
    version,
    about = "Load a bzImage through kexec_load(2) with the relocation-free purgatory, and reboot into it",
    long_about = "Load an x86_64 bzImage (or, with --raw, a flat test payload) through kexec_load(2) \
        with the relocation-free purgatory embedded in this tool. The purgatory checks a SHA-256 \
        of every other segment before it starts the kernel through the 64-bit boot protocol.\n\n\
        Without --exec the image stays loaded until a `kexec-load --exec-loaded` or another \
        kexec reboot; --dry-run prints the plan and needs no privilege.",
    after_help = "Examples:\n  \
        kexec-load --dry-run /boot/vmlinuz --initrd /boot/initrd.img --reuse-cmdline\n  \
        kexec-load /boot/vmlinuz --initrd /boot/initrd.img --append 'console=ttyS0 root=/dev/vda1' --exec\n  \
        kexec-load --raw probe.bin --entry-offset 0x1000 --purgatory-addr below-4g --exec"
)]
pub struct Args {
    /// The kernel (bzImage), or with --raw a flat payload.
    #[arg(required_unless_present_any = ["unload", "exec_loaded"])]
    pub image: Option<PathBuf>,

    /// The initrd (initramfs) to hand to the kernel.
    #[arg(long, value_name = "FILE", conflicts_with = "raw")]
    pub initrd: Option<PathBuf>,

    /// The kernel command line (after --reuse-cmdline's, if both).
    #[arg(
        long,
        alias = "command-line",
        value_name = "CMDLINE",
        conflicts_with = "raw"
    )]
    pub append: Option<String>,

    /// Start from the running kernel's command line (/proc/cmdline).
    #[arg(long, conflicts_with = "raw")]
    pub reuse_cmdline: bool,

    /// Where the purgatory goes: low, high (default; the top of RAM, as Linux places it),
    /// below-4g (the highest room ending at or below 4 GiB), random (see --seed), or an address.
    #[arg(long, value_name = "WHERE", default_value = "high", value_parser = parse_purgatory_addr)]
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

    /// IMAGE is a flat payload entered at load + --entry-offset, not a bzImage.
    /// RSI then points at an expectation page (magic, entry64_regs, the CR0/CR4
    /// the kexec sets up, purgatory_flags, the digest's offset in the purgatory)
    /// and every other register holds a distinctive value: the register probe's
    /// protocol.
    #[arg(long)]
    pub raw: bool,

    /// With --raw: the entry point's offset in the payload.
    #[arg(long, value_name = "OFFSET", default_value = "0", value_parser = parse_u64, requires = "raw")]
    pub entry_offset: u64,

    /// With --raw: where the payload goes (default: 16 MiB or the next free 2 MiB boundary).
    #[arg(long, value_name = "ADDR", value_parser = parse_u64, requires = "raw")]
    pub load_addr: Option<u64>,

    /// TEST ONLY: after the digest is computed, flip one byte of SEGMENT (kernel,
    /// initrd, boot-params, payload, expectation), at +OFFSET or its middle. The
    /// purgatory must then refuse to start the image.
    #[arg(long, value_name = "SEGMENT[+OFFSET]")]
    pub corrupt_after_digest: Option<String>,

    /// The firmware memory map to place segments in and pass on.
    #[arg(long, value_name = "DIR", default_value = SYSFS_MEMMAP)]
    pub memmap: PathBuf,

    /// Print the plan (segments, addresses, sizes, digest) and load nothing.
    #[arg(long, conflicts_with_all = ["exec", "unload"])]
    pub dry_run: bool,

    /// After loading, reboot into the image (reboot(LINUX_REBOOT_CMD_KEXEC)).
    #[arg(long)]
    pub exec: bool,

    /// Reboot into the image loaded earlier; load nothing.
    #[arg(long, conflicts_with_all = ["image", "unload", "exec"])]
    pub exec_loaded: bool,

    /// Unload the image loaded earlier.
    #[arg(long, conflicts_with_all = ["image", "exec"])]
    pub unload: bool,
}

/// A number in hex (`0x…`) or decimal.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let text = text.replace('_', "");
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|err| format!("{text:?} is not a number (hex with 0x, or decimal): {err}"))
}

fn parse_purgatory_addr(text: &str) -> Result<PurgatoryAddr, String> {
    match text {
        "low" => Ok(PurgatoryAddr::Low),
        "high" => Ok(PurgatoryAddr::High),
        "below-4g" => Ok(PurgatoryAddr::Below4G),
        "random" => Ok(PurgatoryAddr::Random),
        _ => parse_u64(text)
            .map(PurgatoryAddr::At)
            .map_err(|_| format!("{text:?}: expected low, high, below-4g, random or an address")),
    }
}

fn parse_failure_policy(text: &str) -> Result<FailurePolicy, String> {
    match text {
        "halt" => Ok(FailurePolicy::Halt),
        "reset" => Ok(FailurePolicy::Reset),
        _ => Err(format!("{text:?}: expected halt or reset")),
    }
}

/// `SEGMENT[+OFFSET]`.
pub fn parse_corruption(text: &str) -> Result<(String, Option<u64>), String> {
    match text.split_once('+') {
        Some((name, offset)) => Ok((name.to_owned(), Some(parse_u64(offset)?))),
        None => Ok((text.to_owned(), None)),
    }
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
    fn numbers_and_places() {
        assert_eq!(parse_u64("0x1000"), Ok(0x1000));
        assert_eq!(parse_u64("0x1_0000_0000"), Ok(1 << 32));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert!(parse_u64("4k").is_err());
        assert_eq!(parse_purgatory_addr("below-4g"), Ok(PurgatoryAddr::Below4G));
        assert_eq!(
            parse_purgatory_addr("0x7000"),
            Ok(PurgatoryAddr::At(0x7000))
        );
        assert!(
            parse_purgatory_addr("middle")
                .unwrap_err()
                .contains("below-4g")
        );
        assert_eq!(
            parse_corruption("kernel+0x10"),
            Ok(("kernel".into(), Some(0x10)))
        );
        assert_eq!(parse_corruption("initrd"), Ok(("initrd".into(), None)));
    }

    #[test]
    fn raw_options_need_raw() {
        assert!(Args::try_parse_from(["kexec-load", "x", "--entry-offset", "4"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "x", "--raw", "--initrd", "i"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "--dry-run", "x", "--exec"]).is_err());
        assert!(Args::try_parse_from(["kexec-load"]).is_err());
        assert!(Args::try_parse_from(["kexec-load", "--unload"]).is_ok());
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
