//! A writer for the "newc" cpio format the kernel unpacks as an initramfs, so
//! the suite needs neither `cpio` nor busybox on the host.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

const MODE_DIR: u32 = 0o040_000;
const MODE_FILE: u32 = 0o100_000;
const MODE_CHAR: u32 = 0o020_000;
const TRAILER: &str = "TRAILER!!!";

/// An archive being written, entry by entry.
pub struct Cpio<W: Write> {
    out: W,
    written: u64,
    next_inode: u32,
}

impl Cpio<BufWriter<File>> {
    /// Starts an archive at `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self::new(BufWriter::with_capacity(1 << 20, file)))
    }
}

impl<W: Write> Cpio<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            written: 0,
            next_inode: 1,
        }
    }

    /// A directory; the kernel does not create missing parents itself.
    pub fn dir(&mut self, name: &str) -> Result<()> {
        self.header(name, MODE_DIR | 0o755, 0, 0)
    }

    /// A regular file from memory.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> Result<()> {
        self.file_from_reader(name, mode, data.len() as u64, data)
    }

    /// A regular file copied from the host.
    pub fn file_from_path(&mut self, name: &str, mode: u32, path: &Path) -> Result<()> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata()?.len();
        self.file_from_reader(name, mode, len, file)
            .with_context(|| format!("archiving {}", path.display()))
    }

    /// A regular file of exactly `len` bytes read from `data`.
    pub fn file_from_reader(
        &mut self,
        name: &str,
        mode: u32,
        len: u64,
        data: impl Read,
    ) -> Result<()> {
        self.header(name, MODE_FILE | mode, len, 0)?;
        let copied = std::io::copy(&mut data.take(len), &mut self.out)?;
        anyhow::ensure!(copied == len, "{name}: expected {len} bytes, got {copied}");
        self.written += copied;
        self.pad()
    }

    /// A character device node, e.g. `dev/console` (5, 1).
    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) -> Result<()> {
        self.header(name, MODE_CHAR | 0o600, 0, (major << 8) | minor)
    }

    /// Writes the trailer and flushes.
    pub fn finish(mut self) -> Result<W> {
        self.header(TRAILER, 0, 0, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// A newc header, 13 fields of 8 hex digits, then the NUL-terminated name
    /// padded to 4 bytes. `rdev` packs major << 8 | minor.
    fn header(&mut self, name: &str, mode: u32, len: u64, rdev: u32) -> Result<()> {
        let size = u32::try_from(len).context("newc cannot hold files of 4 GiB or more")?;
        let inode = if name == TRAILER { 0 } else { self.next_inode };
        self.next_inode += 1;
        let nlink = if mode & MODE_DIR != 0 { 2 } else { 1 };
        let fields = [
            inode,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: fixed, so archives are reproducible
            size,
            0, // dev major
            0, // dev minor
            rdev >> 8,
            rdev & 0xff,
            name.len() as u32 + 1,
            0, // check
        ];
        let mut header = String::from("070701");
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.written += header.len() as u64 + name.len() as u64 + 1;
        self.pad()
    }

    fn pad(&mut self) -> Result<()> {
        let pad = (4 - (self.written % 4)) % 4;
        self.out.write_all(&[0u8; 3][..pad as usize])?;
        self.written += pad;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_newc() {
        let mut cpio = Cpio::new(Vec::new());
        cpio.dir("bin").unwrap();
        cpio.file("bin/x", 0o755, b"hello").unwrap();
        cpio.char_device("dev/console", 5, 1).unwrap();
        let bytes = cpio.finish().unwrap();
        // Header 110 bytes + "bin\0" = 114, padded to 116.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(&bytes[14..22], b"000041ed"); // directory, 0755
        assert_eq!(&bytes[110..114], b"bin\0");
        let file = 116;
        assert_eq!(&bytes[file + 54..file + 62], b"00000005"); // size
        assert_eq!(&bytes[file + 94..file + 102], b"00000006"); // name size
        // 110 + "bin/x\0" = 116, data at 232, 5 bytes, padded to 240.
        assert_eq!(&bytes[file + 116..file + 121], b"hello");
        let dev = file + 124;
        assert_eq!(&bytes[dev + 78..dev + 86], b"00000005"); // rdev major
        assert_eq!(&bytes[dev + 86..dev + 94], b"00000001"); // rdev minor
        assert!(bytes.len().is_multiple_of(4));
        let tail = String::from_utf8_lossy(&bytes[bytes.len() - 16..]);
        assert!(tail.contains("TRAILER!!!"), "{tail}");
    }
}
