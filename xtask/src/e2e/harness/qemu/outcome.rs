//! How a run ended and what it left.

use super::monitor::{ControlRegisters, CpuState, Exchange};
use std::time::Duration;

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited by itself with this status (None: killed by a signal).
    Exited(Option<i32>),
    /// A fatal pattern appeared.
    Fatal(String),
    /// A stop line appeared.
    Stopped(String),
    /// A verdict marker appeared but QEMU did not exit within the grace time.
    VerdictWithoutExit(String),
    /// The CPU sat halted (two polls, same RIP) after the halt trigger.
    Halted { rip: u64, rflags: u64 },
    /// The hard timeout.
    Timeout,
}

/// What the run produced.
#[derive(Debug)]
pub struct Run {
    pub ending: Ending,
    /// Everything the guest printed on its serial port.
    pub serial: String,
    pub elapsed: Duration,
    /// QEMU's `-d cpu_reset` log reported a triple fault.
    pub triple_fault: bool,
    /// CR0 and CR4 read after [`Watch::snapshot_after`](super::spec::Watch::snapshot_after), if the monitor answered.
    pub snapshot: Option<ControlRegisters>,
    /// On [`Ending::Stopped`]: the CPU's state, the first halted one seen
    /// within a second (else the last), if the monitor answered.
    pub cpu_at_stop: Option<CpuState>,
    /// The commands of [`Watch::at_stop`](super::spec::Watch::at_stop) sent,
    /// in order.
    pub exchanges: Vec<Exchange>,
    /// QEMU's `-d` log (`cpu_reset`, and whatever a monitor `log` command
    /// added).
    pub debug_log: String,
}

impl Run {
    pub fn exit_status(&self) -> Option<i32> {
        match self.ending {
            Ending::Exited(status) => status,
            _ => None,
        }
    }
}
