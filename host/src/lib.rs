//! Host-side tools for the kexec purgatory: judge a built image against the
//! kernel contract before anything loads it.

pub mod check;
