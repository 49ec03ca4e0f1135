//! What a KHO run's `/init`s report: KHO's state as debugfs shows it (the
//! way upstream's selftest `/init` mounts debugfs), on both sides of the
//! kexec. The second kernel's restore itself is upstream's `test_kho` line.

/// Kernel command-line parameter, `e2e.kho=1`: the run is a KHO kexec.
pub const PARAM_KHO: &str = "e2e.kho";
/// Stage 1's line before it loads: `E2E-KHO-OUT: scratch=<start>+<len>,…
/// subtrees=<name>,…`, KHO's scratch areas (7.3 places every segment of a
/// KHO kexec there) and the subtrees the first kernel hands over.
pub const OUT: &str = "E2E-KHO-OUT:";
/// Stage 2's line: `E2E-KHO-IN: subtrees=<name>,…`, the subtrees handed over.
pub const IN: &str = "E2E-KHO-IN:";
/// The key of the scratch areas, each `0x<start>+0x<len>`, comma-separated.
pub const SCRATCH: &str = "scratch=";
/// The key of the subtree names, comma-separated.
pub const SUBTREES: &str = "subtrees=";
/// The subtree upstream's `test_kho` (`lib/test_kho.c`) preserves.
pub const TEST_SUBTREE: &str = "kho_test";
