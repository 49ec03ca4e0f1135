//! QEMU's human monitor (HMP) over its Unix socket: the CPU's state and its
//! control registers, as `info registers` reports them, any command a caller
//! sends, and how the transcript notes what was read and sent.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The CPU state the monitor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuState {
    pub rip: u64,
    pub rflags: u64,
    pub halted: bool,
}

/// A monitor command sent during the run, and what followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub line: String,
    /// What the monitor printed in reply (empty for most commands), if it
    /// answered.
    pub reply: Option<String>,
    /// Host seconds since QEMU started, when it was sent.
    pub sent_at: f64,
    /// The CPU's state once the guest had run the command's `then`, if the
    /// monitor answered.
    pub cpu_after: Option<CpuState>,
}

/// CR0 and CR4 as the monitor reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRegisters {
    pub cr0: u64,
    pub cr4: u64,
}

/// How the transcript's notes of a monitor reading begin: CR0/CR4 after the
/// snapshot trigger, the CPU halted after the halt trigger, the CPU at a stop
/// line, a command sent and the CPU after it. A caller quoting the log can
/// pick them out.
pub const READINGS: [&str; 4] = [CR_NOTE, HALTED_NOTE, STOP_NOTE, SENT_NOTE];
const CR_NOTE: &str = "monitor: CR0=";
const HALTED_NOTE: &str = "monitor: CPU halted";
const STOP_NOTE: &str = "monitor: after";
const SENT_NOTE: &str = "monitor: sent";

/// How often a stopped CPU is polled, and the wait between two halt polls.
pub const TICK: Duration = Duration::from_millis(50);
pub const HALT_POLL: Duration = Duration::from_millis(500);
/// After a stop line, how long the CPU gets to reach its `hlt`: the line is
/// printed (and the UART drained) just before it.
const STOP_SETTLE: Duration = Duration::from_secs(1);

/// A connection to the monitor.
pub struct Monitor {
    stream: UnixStream,
}

const PROMPT: &[u8] = b"(qemu) ";

impl Monitor {
    pub fn connect(path: &Path) -> Result<Self> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut monitor = Self { stream };
        monitor.read_to_prompt()?;
        Ok(monitor)
    }

    fn read_to_prompt(&mut self) -> Result<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !out.ends_with(PROMPT) {
            let n = self.stream.read(&mut buf)?;
            anyhow::ensure!(n > 0, "the monitor closed");
            out.extend_from_slice(&buf[..n]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Sends `line` and returns what the monitor printed in reply, without
    /// the echo of the line and the next prompt.
    pub fn command(&mut self, line: &str) -> Result<String> {
        self.stream.write_all(format!("{line}\n").as_bytes())?;
        Ok(reply(&self.read_to_prompt()?))
    }

    fn info_registers(&mut self) -> Result<String> {
        self.command("info registers")
    }

    pub fn cpu_state(&mut self) -> Result<CpuState> {
        let text = self.info_registers()?;
        parse_registers(&text).context("no RIP/RFL/HLT in `info registers`")
    }

    pub fn control_registers(&mut self) -> Result<ControlRegisters> {
        let text = self.info_registers()?;
        parse_control_registers(&text).context("no CR0/CR4 in `info registers`")
    }

    /// The CPU's state once it halts, polled for at most [`STOP_SETTLE`].
    pub fn settled_state(&mut self) -> Option<CpuState> {
        let deadline = Instant::now() + STOP_SETTLE;
        let mut last = None;
        while Instant::now() < deadline {
            let state = self.cpu_state().ok()?;
            if state.halted {
                return Some(state);
            }
            last = Some(state);
            std::thread::sleep(TICK);
        }
        last
    }
}

/// The note for CR0 and CR4 read `secs` after the start.
pub fn snapshot_note(snapshot: Option<ControlRegisters>, secs: f64) -> String {
    match snapshot {
        Some(cr) => format!("{CR_NOTE}{:#x} CR4={:#x} at {secs:.3} s", cr.cr0, cr.cr4),
        None => "monitor: could not read CR0/CR4".into(),
    }
}

/// The note for the CPU's state at the stop line `pattern`.
pub fn stop_note(pattern: &str, state: Option<CpuState>) -> String {
    match state {
        Some(state) => format!("{STOP_NOTE} {pattern:?}: {}", registers_words(state)),
        None => "monitor: could not read the CPU state".into(),
    }
}

/// `RIP=… RFLAGS=… HLT=…`.
fn registers_words(state: CpuState) -> String {
    format!(
        "RIP={:#x} RFLAGS={:#x} HLT={}",
        state.rip,
        state.rflags,
        u8::from(state.halted)
    )
}

/// The note for a CPU seen halted at the same place twice.
pub fn halted_note(state: CpuState) -> String {
    format!(
        "{HALTED_NOTE} at RIP={:#x} RFLAGS={:#x} on two polls {HALT_POLL:?} apart",
        state.rip, state.rflags
    )
}

/// The note for a command sent and the CPU's state after it.
pub fn sent_note(exchange: &Exchange, then: Duration) -> String {
    let reply = match exchange.reply.as_deref() {
        Some("") => "no reply".to_owned(),
        Some(text) => format!("reply {text:?}"),
        None => "no answer".to_owned(),
    };
    let cpu = exchange.cpu_after.map_or_else(
        || "the CPU state could not be read".to_owned(),
        registers_words,
    );
    format!(
        "{SENT_NOTE} {:?} at {:.3} s ({reply}); {then:?} later: {cpu}",
        exchange.line, exchange.sent_at
    )
}

/// What the monitor printed for a command: after the echoed line, before
/// the prompt.
fn reply(text: &str) -> String {
    let text = text.strip_suffix("(qemu) ").unwrap_or(text);
    text.split_once('\n')
        .map_or("", |(_, rest)| rest)
        .trim()
        .to_owned()
}

/// The hex value after `name` (e.g. `RIP=`) in `info registers`.
fn register(text: &str, name: &str) -> Option<u64> {
    let at = text.find(name)? + name.len();
    let value: String = text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&value, 16).ok()
}

/// Reads `RIP=…`, `RFL=…` and `HLT=…` from `info registers`.
fn parse_registers(text: &str) -> Option<CpuState> {
    Some(CpuState {
        rip: register(text, "RIP=")?,
        rflags: register(text, "RFL=")?,
        halted: register(text, "HLT=")? == 1,
    })
}

/// Reads `CR0=…` and `CR4=…` from `info registers`.
fn parse_control_registers(text: &str) -> Option<ControlRegisters> {
    Some(ControlRegisters {
        cr0: register(text, "CR0=")?,
        cr4: register(text, "CR4=")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_from_hmp() {
        let text = "info registers\r\nRAX=0000000000000000 RBX=0000000000000000\r\n\
                    RIP=00000000bffd8123 RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\r\n(qemu) ";
        assert_eq!(
            parse_registers(text),
            Some(CpuState {
                rip: 0xbffd_8123,
                rflags: 0x46,
                halted: true
            })
        );
        assert_eq!(parse_registers("RIP=1 RFL=2"), None);
        let text = "CR0=80050033 CR2=00007f0000000000 CR3=0000000002a3c000 CR4=003716f0\r\n";
        assert_eq!(
            parse_control_registers(text),
            Some(ControlRegisters {
                cr0: 0x8005_0033,
                cr4: 0x0037_16f0
            })
        );
    }

    /// As QEMU 10's readline echoes a command, redrawing the line per byte.
    #[test]
    fn a_reply_is_what_follows_the_echo() {
        let echo = "n\x1b[K\x1b[Dnm\x1b[K\x1b[D\x1b[Dnmi\x1b[K\r\n";
        assert_eq!(reply(&format!("{echo}(qemu) ")), "");
        assert_eq!(
            reply("f\x1b[K\x1b[Dfr\x1b[K\r\nunknown command: 'fr'\r\n(qemu) "),
            "unknown command: 'fr'"
        );
        assert_eq!(reply("(qemu) "), "");
    }

    #[test]
    fn every_reading_note_starts_as_announced() {
        let cr = ControlRegisters { cr0: 1, cr4: 2 };
        let cpu = CpuState {
            rip: 3,
            rflags: 4,
            halted: true,
        };
        let exchange = Exchange {
            line: "nmi".into(),
            reply: Some(String::new()),
            sent_at: 1.0,
            cpu_after: Some(cpu),
        };
        let notes = [
            snapshot_note(Some(cr), 1.0),
            halted_note(cpu),
            stop_note("x", Some(cpu)),
            sent_note(&exchange, TICK),
        ];
        for (note, start) in notes.iter().zip(READINGS) {
            assert!(note.starts_with(start), "{note}");
        }
        assert!(
            !READINGS
                .iter()
                .any(|r| snapshot_note(None, 1.0).starts_with(r))
        );
    }
}
