//! What the suite tells QEMU's monitor, and what it reads back in QEMU's
//! `-d` log: for `nmi-while-halted`, interrupt logging turned on once the
//! purgatory has halted, then NMIs a second apart, so that the log shows
//! each NMI's delivery and anything that followed it.

use crate::e2e::harness::qemu::MonitorCommand;
use std::time::Duration;

/// Adds interrupts and exceptions (`int`) to the `-d` log, which the harness
/// opens with `cpu_reset`. Under TCG each delivery is one line
/// `<n>: v=<vector> e=<error code> i=<software?> cpl=<n> IP=<cs>:<rip> …`.
pub const LOG_INTERRUPTS: &str = "log cpu_reset,int";
/// Injects an NMI.
pub const NMI: &str = "nmi";
/// How many NMIs, and how long the guest runs after each.
pub const NMI_COUNT: usize = 3;
const NMI_SPACING: Duration = Duration::from_secs(1);

/// The commands sent once the purgatory has halted.
pub fn nmis_while_halted() -> Vec<MonitorCommand> {
    let log = MonitorCommand {
        line: LOG_INTERRUPTS.into(),
        then: Duration::ZERO,
    };
    let nmi = MonitorCommand {
        line: NMI.into(),
        then: NMI_SPACING,
    };
    std::iter::once(log)
        .chain(std::iter::repeat_n(nmi, NMI_COUNT))
        .collect()
}

/// An interrupt or exception the CPU took, as the `int` log shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub vector: u8,
    /// Where the CPU was: the instruction it was about to execute.
    pub rip: u64,
}

/// Every delivery in QEMU's `-d` log, in order.
pub fn deliveries(debug_log: &str) -> Vec<Delivery> {
    debug_log.lines().filter_map(delivery).collect()
}

fn delivery(line: &str) -> Option<Delivery> {
    let (count, rest) = line.trim_start().split_once(": v=")?;
    count.parse::<u64>().ok()?;
    let vector = u8::from_str_radix(rest.get(..2)?, 16).ok()?;
    let (_, ip) = rest.split_once(" IP=")?;
    let (_, rip) = ip.split_once(':')?;
    let rip = rip.split_whitespace().next()?;
    Some(Delivery {
        vector,
        rip: u64::from_str_radix(rip, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_read_from_the_int_log() {
        let log = "CPU Reset (CPU 0)\nRAX=0000000000000000 RBX=0\n\
            \x20    0: v=02 e=0000 i=0 cpl=0 IP=0010:00000000bffd8123 pc=00000000bffd8123 SP=0018:00000000bffdc000 env->regs[R_EAX]=0000000000000000\n\
            RAX=0000000000000000\n\
            \x20    1: v=0e e=0000 i=0 cpl=0 IP=0010:00000000bffd7000 pc=00000000bffd7000 SP=0018:00000000bffdbf00 CR2=0000001000000000\n";
        assert_eq!(
            deliveries(log),
            [
                Delivery {
                    vector: 2,
                    rip: 0xbffd_8123
                },
                Delivery {
                    vector: 0xe,
                    rip: 0xbffd_7000
                }
            ]
        );
        assert_eq!(deliveries("v=02 IP=0010:1"), []);
    }

    #[test]
    fn logging_comes_first_then_the_nmis() {
        let commands = nmis_while_halted();
        assert_eq!(commands.len(), NMI_COUNT + 1);
        assert_eq!(commands[0].line, LOG_INTERRUPTS);
        assert!(
            commands[1..]
                .iter()
                .all(|c| c.line == NMI && !c.then.is_zero())
        );
    }
}
