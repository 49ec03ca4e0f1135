//! One QEMU run: the command line, the serial log, and the watcher that ends
//! the run as soon as its outcome is known.
//!
//! The guest's serial port is QEMU's stdout, read as a raw byte stream (the
//! decompressor's "System halted" has no newline) and written to the log with
//! host timestamps. The watcher stops QEMU on a fatal pattern, a few seconds
//! after a verdict marker if the guest does not exit by itself, at once on a
//! stop line (reading the CPU's state first), on a halted CPU (polled through
//! the HMP monitor once armed), and at the hard timeout.
//! It can also read CR0 and CR4 once through the monitor after a trigger, to
//! record what the first kernel ran with. QEMU is killed when the run is
//! dropped, whatever happened.

use super::deps::Qemu;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How the guest executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Tcg => "tcg",
        }
    }

    /// `-cpu max` under TCG (SHA-NI, LA57: the most demanding CPU). Under
    /// KVM the default model: `-cpu host`/`max` abort on nested PVM hosts.
    fn args(self) -> &'static [&'static str] {
        match self {
            Self::Kvm => &["-accel", "kvm"],
            Self::Tcg => &["-accel", "tcg", "-cpu", "max"],
        }
    }
}

/// What to boot.
#[derive(Debug)]
pub struct Machine<'a> {
    pub qemu: &'a Qemu,
    pub accel: Accel,
    /// `-m`, e.g. "2G".
    pub memory: &'a str,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    pub append: &'a str,
}

/// When to stop.
#[derive(Debug, Default)]
pub struct Watch {
    /// Serial text after which the guest exits by itself (its verdict).
    pub verdicts: Vec<String>,
    /// Serial or QEMU stderr text after which nothing good can follow.
    pub fatal: Vec<String>,
    /// Serial text that ends the run at once; the CPU's state is read
    /// through the monitor first (see [`Run::cpu_at_stop`]).
    pub stop_on: Vec<String>,
    /// Serial text after which a halted CPU ends the run (polled).
    pub halt_after: Option<String>,
    /// Serial text after which CR0 and CR4 are read once (the first kernel's).
    pub snapshot_after: Option<String>,
    pub timeout: Duration,
}

impl Watch {
    /// A boot that ends with the guest `/init`'s own verdict (it exits QEMU
    /// itself), or on a fatal pattern, or at `timeout`.
    pub fn init_verdict(timeout: Duration) -> Self {
        use e2e_protocol::protocol::{INIT_FAIL, INIT_PASS};
        Self {
            verdicts: vec![INIT_PASS.into(), INIT_FAIL.into()],
            fatal: FATAL_PATTERNS.iter().map(|p| p.to_string()).collect(),
            timeout,
            ..Self::default()
        }
    }
}

/// Stops QEMU on: a kernel panic (with `panic=-1` it would exit anyway), the
/// decompressor refusing a corrupt kernel, a reboot request, or QEMU itself
/// reporting that KVM failed.
pub const FATAL_PATTERNS: &[&str] = &[
    "Kernel panic - not syncing",
    "System halted",
    "reboot: Restarting system",
    "Rebooting in ",
    "KVM internal error",
    "failed to initialize kvm",
];

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
    /// CR0 and CR4 read after [`Watch::snapshot_after`], if the monitor answered.
    pub snapshot: Option<ControlRegisters>,
    /// On [`Ending::Stopped`]: the CPU's state, the first halted one seen
    /// within [`STOP_SETTLE`] (else the last), if the monitor answered.
    pub cpu_at_stop: Option<CpuState>,
}

/// CR0 and CR4 as the monitor reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRegisters {
    pub cr0: u64,
    pub cr4: u64,
}

impl Run {
    pub fn exit_status(&self) -> Option<i32> {
        match self.ending {
            Ending::Exited(status) => status,
            _ => None,
        }
    }
}

const VERDICT_GRACE: Duration = Duration::from_secs(5);
/// After a stop line, how long the CPU gets to reach its `hlt`: the line is
/// printed (and the UART drained) just before it.
const STOP_SETTLE: Duration = Duration::from_secs(1);
const HALT_POLL: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(50);

enum Event {
    Serial(Vec<u8>),
    Stderr(Vec<u8>),
}

/// Kills QEMU when dropped, so no path (error, panic, timeout) leaves it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `machine` until `watch` says stop; the serial log goes to `log`.
pub fn run(machine: &Machine<'_>, watch: &Watch, log: &Path) -> Result<Run> {
    let socket = std::env::temp_dir().join(format!(
        "kexec-e2e-{}-{}.monitor",
        std::process::id(),
        log.file_stem().and_then(|s| s.to_str()).unwrap_or("run")
    ));
    let debug_log = log.with_extension("qemu-debug.log");
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&debug_log);
    let mut command = Command::new(&machine.qemu.binary);
    command
        .args(&machine.qemu.data_args)
        .args(machine.accel.args())
        .args(["-m", machine.memory, "-smp", "1"])
        .args(["-display", "none", "-nodefaults", "-no-reboot"])
        .args(["-serial", "stdio"])
        .arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        // A reset (triple fault) is logged with the CPU state that caused it.
        .args(["-d", "cpu_reset", "-D"])
        .arg(&debug_log)
        .arg("-kernel")
        .arg(machine.kernel)
        .arg("-initrd")
        .arg(machine.initrd)
        .args(["-append", machine.append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut transcript = Transcript::create(log)?;
    transcript.note(&format!("command: {}", describe(&command)));
    let started = Instant::now();
    let mut child = KillOnDrop(
        command
            .spawn()
            .with_context(|| format!("starting {}", machine.qemu.binary.display()))?,
    );
    let (sender, events) = mpsc::channel();
    let readers = [
        spawn_reader(child.0.stdout.take(), sender.clone(), Event::Serial),
        spawn_reader(child.0.stderr.take(), sender, Event::Stderr),
    ];

    let mut watcher = Watcher::new(watch);
    let mut monitor: Option<Monitor> = None;
    let mut last_halt: Option<u64> = None;
    let mut next_poll = Instant::now();
    let mut snapshot: Option<ControlRegisters> = None;
    let mut snapshot_tried = false;
    let mut cpu_at_stop = None;
    let ending = loop {
        match events.recv_timeout(TICK) {
            Ok(event) => watcher.take(event, &mut transcript, started),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Some(status) = child.0.try_wait()? {
            break Ending::Exited(status.code());
        }
        if let Some(pattern) = &watcher.fatal {
            break Ending::Fatal(pattern.clone());
        }
        if let Some(pattern) = &watcher.stopped {
            if monitor.is_none() {
                monitor = Monitor::connect(&socket).ok();
            }
            cpu_at_stop = monitor.as_mut().and_then(settled_state);
            transcript.note(&match cpu_at_stop {
                Some(state) => format!(
                    "monitor: after {pattern:?}: RIP={:#x} RFLAGS={:#x} HLT={}",
                    state.rip,
                    state.rflags,
                    u8::from(state.halted)
                ),
                None => "monitor: could not read the CPU state".into(),
            });
            break Ending::Stopped(pattern.clone());
        }
        if let Some((at, marker)) = &watcher.verdict
            && at.elapsed() > VERDICT_GRACE
        {
            break Ending::VerdictWithoutExit(marker.clone());
        }
        if watcher.snapshot_armed && !snapshot_tried {
            snapshot_tried = true;
            if monitor.is_none() {
                monitor = Monitor::connect(&socket).ok();
            }
            snapshot = monitor.as_mut().and_then(|m| m.control_registers().ok());
            transcript.note(&match snapshot {
                Some(cr) => format!(
                    "monitor: CR0={:#x} CR4={:#x} at {:.3} s",
                    cr.cr0,
                    cr.cr4,
                    started.elapsed().as_secs_f64()
                ),
                None => "monitor: could not read CR0/CR4".into(),
            });
        }
        if watcher.halt_armed && Instant::now() >= next_poll {
            next_poll = Instant::now() + HALT_POLL;
            if monitor.is_none() {
                monitor = Monitor::connect(&socket).ok();
            }
            match monitor.as_mut().map(Monitor::cpu_state) {
                Some(Ok(state)) if state.halted => {
                    if last_halt == Some(state.rip) {
                        transcript.note(&format!(
                            "monitor: CPU halted at RIP={:#x} RFLAGS={:#x} on two polls {HALT_POLL:?} apart",
                            state.rip, state.rflags
                        ));
                        break Ending::Halted {
                            rip: state.rip,
                            rflags: state.rflags,
                        };
                    }
                    last_halt = Some(state.rip);
                }
                Some(Ok(_)) => last_halt = None,
                Some(Err(_)) => monitor = None,
                None => {}
            }
        }
        if started.elapsed() > watch.timeout {
            break Ending::Timeout;
        }
    };
    let elapsed = started.elapsed();
    drop(monitor);
    let status = stop(child)?;
    for reader in readers {
        let _ = reader.join();
    }
    while let Ok(event) = events.try_recv() {
        watcher.take(event, &mut transcript, started);
    }
    let triple_fault =
        std::fs::read_to_string(&debug_log).is_ok_and(|text| text.contains("Triple fault"));
    let _ = std::fs::remove_file(&socket);
    transcript.note(&format!(
        "ended after {:.1} s: {ending:?} (QEMU {status})",
        elapsed.as_secs_f64()
    ));
    if triple_fault {
        transcript.note(&format!(
            "QEMU logged a triple fault: see {}",
            debug_log.display()
        ));
    }
    transcript.finish()?;
    Ok(Run {
        ending,
        serial: String::from_utf8_lossy(&watcher.serial).into_owned(),
        elapsed,
        triple_fault,
        snapshot,
        cpu_at_stop,
    })
}

/// The CPU's state once it halts, polled for at most [`STOP_SETTLE`].
fn settled_state(monitor: &mut Monitor) -> Option<CpuState> {
    let deadline = Instant::now() + STOP_SETTLE;
    let mut last = None;
    while Instant::now() < deadline {
        let state = monitor.cpu_state().ok()?;
        if state.halted {
            return Some(state);
        }
        last = Some(state);
        std::thread::sleep(TICK);
    }
    last
}

fn stop(mut child: KillOnDrop) -> Result<ExitStatus> {
    if child.0.try_wait()?.is_none() {
        let _ = child.0.kill();
    }
    Ok(child.0.wait()?)
}

fn spawn_reader(
    pipe: Option<impl Read + Send + 'static>,
    sender: mpsc::Sender<Event>,
    wrap: fn(Vec<u8>) -> Event,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            if sender.send(wrap(buf[..n].to_vec())).is_err() {
                break;
            }
        }
    })
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| {
            let arg = arg.to_string_lossy();
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                arg.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scans the byte streams for the watch's patterns.
struct Watcher<'a> {
    watch: &'a Watch,
    serial: Vec<u8>,
    stderr: Vec<u8>,
    fatal: Option<String>,
    stopped: Option<String>,
    verdict: Option<(Instant, String)>,
    halt_armed: bool,
    snapshot_armed: bool,
}

impl<'a> Watcher<'a> {
    fn new(watch: &'a Watch) -> Self {
        Self {
            watch,
            serial: Vec::new(),
            stderr: Vec::new(),
            fatal: None,
            stopped: None,
            verdict: None,
            halt_armed: false,
            snapshot_armed: false,
        }
    }

    fn take(&mut self, event: Event, transcript: &mut Transcript, started: Instant) {
        let secs = started.elapsed().as_secs_f64();
        let (stream, bytes, is_serial) = match event {
            Event::Serial(bytes) => {
                transcript.serial(&bytes, secs);
                (&mut self.serial, bytes, true)
            }
            Event::Stderr(bytes) => {
                transcript.stderr(&bytes, secs);
                (&mut self.stderr, bytes, false)
            }
        };
        // Only the new bytes, plus enough before them for a pattern split
        // across two reads.
        let from = stream.len().saturating_sub(64);
        stream.extend_from_slice(&bytes);
        let window = &stream[from..];
        if self.fatal.is_none() {
            self.fatal = self
                .watch
                .fatal
                .iter()
                .find(|p| contains(window, p.as_bytes()))
                .cloned();
        }
        if is_serial {
            if self.stopped.is_none() {
                self.stopped = self
                    .watch
                    .stop_on
                    .iter()
                    .find(|p| contains(window, p.as_bytes()))
                    .cloned();
            }
            if self.verdict.is_none()
                && let Some(marker) = self
                    .watch
                    .verdicts
                    .iter()
                    .find(|p| contains(window, p.as_bytes()))
            {
                self.verdict = Some((Instant::now(), marker.clone()));
            }
            if let Some(trigger) = &self.watch.halt_after
                && contains(window, trigger.as_bytes())
            {
                self.halt_armed = true;
            }
            if let Some(trigger) = &self.watch.snapshot_after
                && contains(window, trigger.as_bytes())
            {
                self.snapshot_armed = true;
            }
        }
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The log file: serial lines prefixed with host seconds since QEMU started.
struct Transcript {
    file: BufWriter<File>,
    serial: Line,
    stderr: Line,
}

#[derive(Default)]
struct Line {
    bytes: Vec<u8>,
    started: f64,
}

impl Transcript {
    fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            file: BufWriter::new(file),
            serial: Line::default(),
            stderr: Line::default(),
        })
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.file, "# {text}");
    }

    fn serial(&mut self, bytes: &[u8], secs: f64) {
        Self::lines(&mut self.file, &mut self.serial, bytes, secs, "");
    }

    fn stderr(&mut self, bytes: &[u8], secs: f64) {
        Self::lines(
            &mut self.file,
            &mut self.stderr,
            bytes,
            secs,
            "[qemu stderr] ",
        );
    }

    fn lines(file: &mut BufWriter<File>, line: &mut Line, bytes: &[u8], secs: f64, prefix: &str) {
        for &byte in bytes {
            if line.bytes.is_empty() {
                line.started = secs;
            }
            match byte {
                b'\n' => Self::flush_line(file, line, prefix),
                b'\r' => {}
                _ => line.bytes.push(byte),
            }
        }
    }

    fn flush_line(file: &mut BufWriter<File>, line: &mut Line, prefix: &str) {
        let _ = writeln!(
            file,
            "{:8.3} {prefix}{}",
            line.started,
            String::from_utf8_lossy(&line.bytes)
        );
        line.bytes.clear();
    }

    fn finish(mut self) -> Result<()> {
        for (line, prefix) in [(&mut self.serial, ""), (&mut self.stderr, "[qemu stderr] ")] {
            if !line.bytes.is_empty() {
                // The last line had no newline (e.g. "-- System halted").
                Self::flush_line(&mut self.file, line, prefix);
            }
        }
        self.file.flush()?;
        Ok(())
    }
}

/// The CPU state the HMP monitor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuState {
    pub rip: u64,
    pub rflags: u64,
    pub halted: bool,
}

/// QEMU's human monitor over its Unix socket.
struct Monitor {
    stream: UnixStream,
}

const PROMPT: &[u8] = b"(qemu) ";

impl Monitor {
    fn connect(path: &Path) -> Result<Self> {
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

    fn cpu_state(&mut self) -> Result<CpuState> {
        self.stream.write_all(b"info registers\n")?;
        let text = self.read_to_prompt()?;
        parse_registers(&text).context("no RIP/RFL/HLT in `info registers`")
    }

    fn control_registers(&mut self) -> Result<ControlRegisters> {
        self.stream.write_all(b"info registers\n")?;
        let text = self.read_to_prompt()?;
        parse_control_registers(&text).context("no CR0/CR4 in `info registers`")
    }
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
pub fn parse_registers(text: &str) -> Option<CpuState> {
    Some(CpuState {
        rip: register(text, "RIP=")?,
        rflags: register(text, "RFL=")?,
        halted: register(text, "HLT=")? == 1,
    })
}

/// Reads `CR0=…` and `CR4=…` from `info registers`.
pub fn parse_control_registers(text: &str) -> Option<ControlRegisters> {
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

    #[test]
    fn patterns_split_across_reads_are_found() {
        let watch = Watch {
            fatal: vec!["System halted".into()],
            ..Watch::default()
        };
        let mut watcher = Watcher::new(&watch);
        let dir = std::env::temp_dir().join(format!("xtask-qemu-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut transcript = Transcript::create(&dir.join("t.log")).unwrap();
        let start = Instant::now();
        watcher.take(
            Event::Serial(b"ZSTD-compressed data is corrupt\r\n -- Syst".to_vec()),
            &mut transcript,
            start,
        );
        assert_eq!(watcher.fatal, None);
        watcher.take(Event::Serial(b"em halted".to_vec()), &mut transcript, start);
        assert_eq!(watcher.fatal.as_deref(), Some("System halted"));
        transcript.finish().unwrap();
        let log = std::fs::read_to_string(dir.join("t.log")).unwrap();
        assert!(
            log.lines().last().unwrap().ends_with(" -- System halted"),
            "{log}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
