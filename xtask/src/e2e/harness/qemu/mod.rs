//! One QEMU run: the command line, the serial log, and the watcher that ends
//! the run as soon as its outcome is known.
//!
//! The guest's serial port is QEMU's stdout, read as a raw byte stream (the
//! decompressor's "System halted" has no newline) and written to the log with
//! host timestamps ([`transcript`]). The [`watcher`] stops QEMU on a fatal
//! pattern, a few seconds after a verdict marker if the guest does not exit by
//! itself, at once on a stop line (reading the CPU's state first), on a halted
//! CPU (polled through the HMP [`monitor`] once armed), and at the hard
//! timeout. It can also read CR0 and CR4 once through the monitor after a
//! trigger, to record what the first kernel ran with, and send the caller's
//! monitor commands once a stop line has appeared, reading the CPU after
//! each. QEMU is killed when the run is dropped, whatever happened.

mod monitor;
mod outcome;
mod spec;
pub mod transcript;
mod watcher;

pub use monitor::{ControlRegisters, CpuState, Exchange, READINGS};
pub use outcome::{Ending, Run};
pub use spec::{Accel, Machine, MonitorCommand, Pflash, Watch};

use anyhow::{Context, Result};
use monitor::{HALT_POLL, Monitor, TICK};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use transcript::Transcript;
use watcher::{Event, Watcher};

const VERDICT_GRACE: Duration = Duration::from_secs(5);

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
    let mut command = command(machine, &socket, &debug_log);
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
    let mut session = Session {
        socket: &socket,
        monitor: None,
        last_halt: None,
        next_poll: Instant::now(),
        snapshot: None,
        snapshot_tried: false,
        cpu_at_stop: None,
        stop_read: false,
        at_stop: &watch.at_stop,
        exchanges: Vec::new(),
    };
    let ending = loop {
        if let Ok(event) = events.recv_timeout(TICK) {
            watcher.take(event, &mut transcript, started);
        }
        if let Some(status) = child.0.try_wait()? {
            break Ending::Exited(status.code());
        }
        if let Some(ending) = session.check(&watcher, &mut transcript, started) {
            break ending;
        }
        if started.elapsed() > watch.timeout {
            break Ending::Timeout;
        }
    };
    let elapsed = started.elapsed();
    let (snapshot, cpu_at_stop) = (session.snapshot, session.cpu_at_stop);
    let exchanges = std::mem::take(&mut session.exchanges);
    drop(session);
    let status = stop(child)?;
    for reader in readers {
        let _ = reader.join();
    }
    while let Ok(event) = events.try_recv() {
        watcher.take(event, &mut transcript, started);
    }
    let debug_text = std::fs::read_to_string(&debug_log).unwrap_or_default();
    let triple_fault = debug_text.contains("Triple fault");
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
        exchanges,
        debug_log: debug_text,
    })
}

/// The QEMU command line: the machine's CPUs, the serial port on stdout, the
/// monitor on `socket`, resets logged to `debug_log`, the guest's
/// `isa-debug-exit`, and UEFI firmware in flash if the machine has it.
fn command(machine: &Machine<'_>, socket: &Path, debug_log: &Path) -> Command {
    let mut command = Command::new(&machine.qemu.binary);
    command.args(&machine.qemu.data_args);
    if let Some(flash) = machine.firmware {
        for (unit, file, access) in [(0, flash.code, ",readonly=on"), (1, flash.vars, "")] {
            command.arg("-drive").arg(format!(
                "if=pflash,format=raw,unit={unit}{access},file={}",
                file.display()
            ));
        }
    }
    command
        .args(machine.accel.args())
        .args(["-m", machine.memory])
        .args(["-smp", &machine.cpus.to_string()])
        .args(["-display", "none", "-nodefaults", "-no-reboot"])
        .args(["-serial", "stdio"])
        .arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        // A reset (triple fault) is logged with the CPU state that caused it.
        .args(["-d", "cpu_reset", "-D"])
        .arg(debug_log)
        .arg("-kernel")
        .arg(machine.kernel)
        .arg("-initrd")
        .arg(machine.initrd)
        .args(["-append", machine.append])
        .args(machine.extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// The monitor side of a run: what the watcher's triggers ask of it.
struct Session<'a> {
    socket: &'a Path,
    monitor: Option<Monitor>,
    last_halt: Option<u64>,
    next_poll: Instant,
    snapshot: Option<ControlRegisters>,
    snapshot_tried: bool,
    cpu_at_stop: Option<CpuState>,
    /// The CPU was read at the stop line and the commands were sent.
    stop_read: bool,
    at_stop: &'a [MonitorCommand],
    exchanges: Vec<Exchange>,
}

impl Session<'_> {
    /// The ending the watcher's findings call for, if any; reads the monitor
    /// where a trigger asks.
    fn check(
        &mut self,
        watcher: &Watcher<'_>,
        transcript: &mut Transcript,
        started: Instant,
    ) -> Option<Ending> {
        if let Some(pattern) = &watcher.fatal {
            return Some(Ending::Fatal(pattern.clone()));
        }
        if let Some(pattern) = &watcher.stopped {
            if self.stop_read {
                return Some(Ending::Stopped(pattern.clone()));
            }
            self.stop_read = true;
            self.cpu_at_stop = self.monitor().and_then(Monitor::settled_state);
            transcript.note(&monitor::stop_note(pattern, self.cpu_at_stop));
            self.send_at_stop(transcript, started);
            // The caller's loop sees QEMU exit, if a command made it, before
            // the next call ends the run here.
            return None;
        }
        if let Some((at, marker)) = &watcher.verdict
            && at.elapsed() > VERDICT_GRACE
        {
            return Some(Ending::VerdictWithoutExit(marker.clone()));
        }
        if watcher.snapshot_armed && !self.snapshot_tried {
            self.snapshot_tried = true;
            self.snapshot = self.monitor().and_then(|m| m.control_registers().ok());
            let secs = started.elapsed().as_secs_f64();
            transcript.note(&monitor::snapshot_note(self.snapshot, secs));
        }
        if watcher.halt_armed && Instant::now() >= self.next_poll {
            self.next_poll = Instant::now() + HALT_POLL;
            return self.poll_halt(transcript);
        }
        None
    }

    /// [`Ending::Halted`] once two polls find the CPU halted at one RIP.
    fn poll_halt(&mut self, transcript: &mut Transcript) -> Option<Ending> {
        match self.monitor().map(Monitor::cpu_state) {
            Some(Ok(state)) if state.halted => {
                if self.last_halt == Some(state.rip) {
                    transcript.note(&monitor::halted_note(state));
                    return Some(Ending::Halted {
                        rip: state.rip,
                        rflags: state.rflags,
                    });
                }
                self.last_halt = Some(state.rip);
            }
            Some(Ok(_)) => self.last_halt = None,
            Some(Err(_)) => self.monitor = None,
            None => {}
        }
        None
    }

    /// Sends [`Watch::at_stop`]'s commands, each followed by its wait and a
    /// reading of the CPU (the guest runs meanwhile); stops at the first the
    /// monitor does not answer (QEMU may have exited).
    fn send_at_stop(&mut self, transcript: &mut Transcript, started: Instant) {
        for command in self.at_stop {
            let sent_at = started.elapsed().as_secs_f64();
            let reply = self.monitor().map(|m| m.command(&command.line));
            let answered = matches!(reply, Some(Ok(_)));
            std::thread::sleep(command.then);
            let cpu_after = if answered {
                self.monitor().and_then(|m| m.cpu_state().ok())
            } else {
                None
            };
            let exchange = Exchange {
                line: command.line.clone(),
                reply: reply.and_then(Result::ok),
                sent_at,
                cpu_after,
            };
            transcript.note(&monitor::sent_note(&exchange, command.then));
            self.exchanges.push(exchange);
            if cpu_after.is_none() {
                self.monitor = None;
                break;
            }
        }
    }

    /// The monitor, connected on first use.
    fn monitor(&mut self) -> Option<&mut Monitor> {
        if self.monitor.is_none() {
            self.monitor = Monitor::connect(self.socket).ok();
        }
        self.monitor.as_mut()
    }
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
