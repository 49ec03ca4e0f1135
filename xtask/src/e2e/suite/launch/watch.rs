//! When the suite stops a boot: on the guests' verdicts and the kernel's
//! fatal lines, plus what a kind of run adds.

use crate::e2e::harness::qemu::Watch;
use crate::e2e::suite::vocabulary::guest::{INIT_FAIL, INIT_PASS};
use crate::e2e::suite::vocabulary::linux::FATAL;
use std::time::Duration;

/// The kernel's lines after which nothing good can follow.
fn fatal() -> Vec<String> {
    FATAL.iter().map(|line| line.to_string()).collect()
}

/// A boot that ends with the guest `/init`'s own verdict (it exits QEMU
/// itself), or on a fatal line, or at `timeout`.
pub fn init_verdict(timeout: Duration) -> Watch {
    Watch {
        verdicts: vec![INIT_PASS.into(), INIT_FAIL.into()],
        fatal: fatal(),
        timeout,
        ..Watch::default()
    }
}
