//! Why no plan can be made: each variant names what is wrong.

use crate::crash::CrashError;
use crate::layout::PlaceError;
use purgatory_host::LoadError;
use std::fmt;

/// Why no plan can be made.
#[derive(Debug)]
pub enum PlanError {
    Place(PlaceError),
    Purgatory(LoadError),
    /// A crash kernel (`-p`) that cannot be planned.
    Crash(CrashError),
    CmdlineTooLong {
        len: u64,
        max: u64,
    },
    CmdlineHasNul,
    /// The running kernel has 5-level paging on and the image lacks XLF_5LEVEL.
    No5LevelSupport,
    /// A kernel without XLF_CAN_BE_LOADED_ABOVE_4G would get a segment above 4 GiB.
    Above4G {
        segment: &'static str,
        end: u64,
    },
    #[cfg(feature = "e2e")]
    EntryOutsidePayload {
        offset: u64,
        len: u64,
    },
    #[cfg(feature = "e2e")]
    EmptyPayload,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Place(err) => write!(f, "{err}"),
            Self::Purgatory(err) => write!(f, "purgatory: {err}"),
            Self::Crash(err) => write!(f, "crash kernel: {err}"),
            Self::CmdlineTooLong { len, max } => write!(
                f,
                "the command line has {len} bytes, the kernel accepts at most {max} (setup header cmdline_size)"
            ),
            Self::CmdlineHasNul => write!(f, "the command line contains a NUL byte"),
            Self::No5LevelSupport => write!(
                f,
                "the running kernel uses 5-level paging, which kexec keeps, and this kernel's xloadflags lack \
                 XLF_5LEVEL: it would crash on entry (boot the old kernel with no5lvl, or load a newer kernel)"
            ),
            Self::Above4G { segment, end } => write!(
                f,
                "the {segment} segment would end at {end:#x}, above 4 GiB, and this kernel lacks \
                 XLF_CAN_BE_LOADED_ABOVE_4G"
            ),
            #[cfg(feature = "e2e")]
            Self::EntryOutsidePayload { offset, len } => write!(
                f,
                "--entry-offset {offset:#x} is outside the {len:#x}-byte payload"
            ),
            #[cfg(feature = "e2e")]
            Self::EmptyPayload => write!(f, "the payload is empty"),
        }
    }
}

impl std::error::Error for PlanError {}

impl From<PlaceError> for PlanError {
    fn from(err: PlaceError) -> Self {
        Self::Place(err)
    }
}

impl From<LoadError> for PlanError {
    fn from(err: LoadError) -> Self {
        Self::Purgatory(err)
    }
}

impl From<CrashError> for PlanError {
    fn from(err: CrashError) -> Self {
        Self::Crash(err)
    }
}
