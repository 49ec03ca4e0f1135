//! The run's log file: the guest's serial lines and QEMU's stderr, each
//! prefixed with the host seconds since QEMU started, and `# ` notes of what
//! the harness did; and reading those lines back.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

const STDERR_PREFIX: &str = "[qemu stderr] ";

/// The log being written.
pub struct Transcript {
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
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            file: BufWriter::new(file),
            serial: Line::default(),
            stderr: Line::default(),
        })
    }

    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.file, "# {text}");
    }

    pub fn serial(&mut self, bytes: &[u8], secs: f64) {
        Self::lines(&mut self.file, &mut self.serial, bytes, secs, "");
    }

    pub fn stderr(&mut self, bytes: &[u8], secs: f64) {
        Self::lines(&mut self.file, &mut self.stderr, bytes, secs, STDERR_PREFIX);
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

    pub fn finish(mut self) -> Result<()> {
        for (line, prefix) in [(&mut self.serial, ""), (&mut self.stderr, STDERR_PREFIX)] {
            if !line.bytes.is_empty() {
                // The last line had no newline (e.g. "-- System halted").
                Self::flush_line(&mut self.file, line, prefix);
            }
        }
        self.file.flush()?;
        Ok(())
    }
}

/// A log line's host seconds and text, or `None` for a note.
pub fn stamped(line: &str) -> Option<(f64, &str)> {
    let (secs, text) = line.trim_start().split_once(' ')?;
    Some((secs.parse().ok()?, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_stamped_and_read_back() {
        let dir = std::env::temp_dir().join(format!("xtask-transcript-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.log");
        let mut transcript = Transcript::create(&path).unwrap();
        transcript.note("command: qemu");
        transcript.serial(b"  hash  sha-ni\r\nlast", 1.5);
        transcript.stderr(b"oops\n", 2.25);
        transcript.finish().unwrap();
        let log = std::fs::read_to_string(&path).unwrap();
        let read: Vec<_> = log.lines().map(stamped).collect();
        assert_eq!(
            read,
            [
                None,
                Some((1.5, "  hash  sha-ni")),
                Some((2.25, "[qemu stderr] oops")),
                Some((1.5, "last"))
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
