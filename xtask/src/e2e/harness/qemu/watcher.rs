//! Scanning QEMU's two byte streams for the patterns of a [`Watch`], as they
//! arrive, into the transcript.

use super::spec::{QEMU_FATAL, Watch};
use super::transcript::Transcript;
use crate::e2e::harness::log::contains;
use std::time::Instant;

/// Bytes read from one of QEMU's pipes.
pub enum Event {
    Serial(Vec<u8>),
    Stderr(Vec<u8>),
}

/// What the streams have shown so far.
pub struct Watcher<'a> {
    watch: &'a Watch,
    pub serial: Vec<u8>,
    stderr: Vec<u8>,
    pub fatal: Option<String>,
    pub stopped: Option<String>,
    pub verdict: Option<(Instant, String)>,
    pub halt_armed: bool,
    pub snapshot_armed: bool,
}

impl<'a> Watcher<'a> {
    pub fn new(watch: &'a Watch) -> Self {
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

    pub fn take(&mut self, event: Event, transcript: &mut Transcript, started: Instant) {
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
        let found = |patterns: &[String]| {
            patterns
                .iter()
                .find(|p| contains(window, p.as_bytes()))
                .cloned()
        };
        if self.fatal.is_none() {
            self.fatal = found(&self.watch.fatal).or_else(|| {
                QEMU_FATAL
                    .iter()
                    .find(|p| contains(window, p.as_bytes()))
                    .map(|p| p.to_string())
            });
        }
        if !is_serial {
            return;
        }
        if self.stopped.is_none() {
            self.stopped = found(&self.watch.stop_on);
        }
        if self.verdict.is_none() {
            self.verdict = found(&self.watch.verdicts).map(|marker| (Instant::now(), marker));
        }
        let seen = |trigger: &Option<String>| {
            trigger
                .as_ref()
                .is_some_and(|t| contains(window, t.as_bytes()))
        };
        self.halt_armed |= seen(&self.watch.halt_after);
        self.snapshot_armed |= seen(&self.watch.snapshot_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn qemu_reporting_a_kvm_failure_is_always_fatal() {
        let watch = Watch::default();
        let mut watcher = Watcher::new(&watch);
        let dir = std::env::temp_dir().join(format!("xtask-qemu-kvm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut transcript = Transcript::create(&dir.join("t.log")).unwrap();
        watcher.take(
            Event::Stderr(b"error: failed to initialize kvm: No such device\n".to_vec()),
            &mut transcript,
            Instant::now(),
        );
        assert_eq!(watcher.fatal.as_deref(), Some("failed to initialize kvm"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
