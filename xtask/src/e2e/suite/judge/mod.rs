//! One judge per kind of run, each deciding from the run's serial log (read
//! through the [vocabulary](super::vocabulary)) whether it showed what it
//! must: `Ok` with one line of what it showed, or `Err` with why not.
//!
//! [`boot`]: a second kernel boots; [`refusal`]: the purgatory halts, resets
//! or stays silent on a flipped byte; [`probe`]: the register probe's
//! hand-off; [`kexec_file`]: the patched kernels' own loader; [`matrix`]: the
//! kernels a kernel-matrix run booted; [`kho`]: a KHO kexec, which 7.3 leaves
//! unverified unless told otherwise. [`common`] holds what they share.

pub mod boot;
pub mod common;
pub mod kexec_file;
pub mod kho;
pub mod matrix;
pub mod probe;
pub mod refusal;

#[cfg(test)]
mod tests;
