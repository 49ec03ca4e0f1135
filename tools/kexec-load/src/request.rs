//! What the user asks for: the payload, where the purgatory goes, and how it
//! verifies and reports. The plan is built from a [`Request`].

use crate::bzimage::BzImage;
use crate::console::Console;
use crate::crash::CrashSources;
use crate::handover::Handover;
use crate::number::parse_u64;
use purgatory_abi::{Cpuid, FailurePolicy};

/// Where the purgatory goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgatoryAddr {
    /// The lowest free RAM (above page 0).
    Low,
    /// The highest free RAM, as Linux's `kexec_file_load` places it.
    High,
    /// The highest free RAM that ends at or below 4 GiB.
    Below4G,
    /// A random page-aligned free address, from the seed.
    Random,
    /// Exactly here.
    At(u64),
}

impl std::str::FromStr for PurgatoryAddr {
    type Err = String;

    /// `low`, `high`, `below-4g`, `random` or an address.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "low" => Ok(Self::Low),
            "high" => Ok(Self::High),
            "below-4g" => Ok(Self::Below4G),
            "random" => Ok(Self::Random),
            _ => parse_u64(text).map(Self::At).map_err(|_| {
                format!("{text:?}: expected low, high, below-4g, random or an address")
            }),
        }
    }
}

/// The word for `policy` on the command line and in the JSON plan.
pub const fn failure_policy_name(policy: FailurePolicy) -> &'static str {
    match policy {
        FailurePolicy::Halt => "halt",
        FailurePolicy::Reset => "reset",
    }
}

/// The inverse of [`failure_policy_name`].
pub fn parse_failure_policy(text: &str) -> Result<FailurePolicy, String> {
    [FailurePolicy::Halt, FailurePolicy::Reset]
        .into_iter()
        .find(|&policy| failure_policy_name(policy) == text)
        .ok_or_else(|| format!("{text:?}: expected halt or reset"))
}

/// What is being loaded.
#[derive(Debug)]
pub enum Payload<'a> {
    /// A Linux kernel, started through the 64-bit boot protocol.
    BzImage {
        image: BzImage<'a>,
        initrd: Option<Vec<u8>>,
        cmdline: String,
    },
    /// A flat test image entered at `load + entry_offset`, with RSI pointing
    /// at an expectation page and every other register distinctive (the
    /// register probe's protocol).
    #[cfg(feature = "e2e")]
    Raw {
        bytes: &'a [u8],
        entry_offset: u64,
        load_addr: Option<u64>,
        /// The IDT the running kernel's kexec leaves
        /// (`e2e_protocol::tables::kexec_idt`), for the expectation page.
        kexec_idt: u64,
    },
}

/// What to plan.
#[derive(Debug)]
pub struct Request<'a> {
    pub payload: Payload<'a>,
    pub purgatory_addr: PurgatoryAddr,
    /// For [`PurgatoryAddr::Random`].
    pub seed: u64,
    /// `false`: an empty region table, the purgatory checks nothing.
    pub verify: bool,
    /// The running kernel uses 5-level paging, which kexec keeps.
    pub host_5level: bool,
    /// `purgatory_flags` (`FLAG_*` of the ABI); 0 as shipped.
    pub purgatory_flags: u64,
    /// The CPU the purgatory will run on: with the flags, it decides the hash path.
    pub cpuid: Cpuid,
    /// Where the purgatory reports its progress and any failure.
    pub console: Console,
    /// What the purgatory does on a mismatch (`FLAG_RESET_ON_FAILURE`).
    pub on_failure: FailurePolicy,
    /// What a Linux kernel inherits from the running one besides the map.
    pub handover: Handover,
    /// `-p`: a crash kernel, planned in the reservation these describe.
    pub crash: Option<CrashSources>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_policies() {
        assert_eq!("below-4g".parse(), Ok(PurgatoryAddr::Below4G));
        assert_eq!("0x7000".parse(), Ok(PurgatoryAddr::At(0x7000)));
        assert!(
            "middle"
                .parse::<PurgatoryAddr>()
                .unwrap_err()
                .contains("below-4g")
        );
        for policy in [FailurePolicy::Halt, FailurePolicy::Reset] {
            assert_eq!(
                parse_failure_policy(failure_policy_name(policy)),
                Ok(policy)
            );
        }
        assert!(
            parse_failure_policy("panic")
                .unwrap_err()
                .contains("halt or reset")
        );
    }
}
