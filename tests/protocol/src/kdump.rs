//! The kdump scenarios: a first kernel whose `/init` writes a random marker
//! into a page of its own, loads a capture kernel (`kexec-load -p`, or
//! `kexec_file_load` with `KEXEC_FILE_ON_CRASH`) told where the marker is,
//! and crashes; the capture kernel's `/init` finds the marker again in
//! `/proc/vmcore` and reports.
//!
//! The first kernel's command line has [`PARAM_KDUMP`]; the capture
//! kernel's has `e2e.stage=`[`STAGE_CAPTURE`], and stage 1 adds the
//! `e2e.kdump.*` parameters to it. Both report one line of `key=value`
//! words, [`CRASHING`] and [`VMCORE`], with the keys below, which
//! [`value`](crate::protocol::value) reads.

/// First kernel's command line: `e2e.kdump=1` makes stage 1 a crash.
pub const PARAM_KDUMP: &str = "e2e.kdump";
/// `e2e.stage=capture`: the capture kernel's `/init`.
pub const STAGE_CAPTURE: &str = "capture";
/// Capture kernel's command line: the marker's physical address (hex, `0x`).
pub const PARAM_ADDR: &str = "e2e.kdump.addr";
/// Capture kernel's command line: the marker, [`MARKER_LEN`] hex digits.
pub const PARAM_MARKER: &str = "e2e.kdump.marker";
/// Capture kernel's command line: the first kernel's `OSRELEASE`.
pub const PARAM_RELEASE: &str = "e2e.kdump.release";
/// Capture kernel's command line: how many CPUs the first kernel had online.
pub const PARAM_CPUS: &str = "e2e.kdump.cpus";

/// Stage 1's last line before the crash:
/// `E2E-KDUMP-CRASH: addr=0x… marker=… release=… cpus=N`.
pub const CRASHING: &str = "E2E-KDUMP-CRASH:";
/// The capture `/init`'s first line: `E2E-CAPTURE: /init running at uptime S`.
pub const CAPTURE: &str = "E2E-CAPTURE:";
/// The capture `/init`'s findings: `E2E-VMCORE: addr=0x… marker=…
/// offset=0x… bytes=N release=… prstatus=N`.
pub const VMCORE: &str = "E2E-VMCORE:";

/// Key: the marker's physical address.
pub const KEY_ADDR: &str = "addr";
/// Key: the marker (what was written, or what was read back).
pub const KEY_MARKER: &str = "marker";
/// Key: `OSRELEASE` (the first kernel's, or VMCOREINFO's).
pub const KEY_RELEASE: &str = "release";
/// Key: CPUs online when stage 1 crashed.
pub const KEY_CPUS: &str = "cpus";
/// Key: where in `/proc/vmcore` the marker was read.
pub const KEY_OFFSET: &str = "offset";
/// Key: `/proc/vmcore`'s size in bytes.
pub const KEY_BYTES: &str = "bytes";
/// Key: how many `NT_PRSTATUS` notes (saved CPUs) the dump holds.
pub const KEY_PRSTATUS: &str = "prstatus";

/// The marker's length: 16 random bytes as hex digits.
pub const MARKER_LEN: usize = 32;
