//! Debian's stock kernels the kernel-matrix runs boot, by series: bookworm's
//! 6.1 (its default kernel) and 6.12 (the suite's default kernel, honouring
//! `E2E_KERNEL`), and trixie-backports' 7.3, the series the patch series is
//! on. Each is fetched once, and only when a selected run boots it.

use crate::e2e::harness::fetch::{self, DEFAULT_KERNEL, Kernel, Stock};
use anyhow::{Result, anyhow};
use std::path::Path;

/// A kernel series of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Debian bookworm's own kernel.
    Linux6_1,
    /// Debian bookworm's 6.12, the suite's default first kernel.
    Linux6_12,
    /// Debian trixie-backports' 7.3.
    Linux7_3,
}

impl Series {
    #[cfg(test)]
    pub const ALL: [Series; 3] = [Self::Linux6_1, Self::Linux6_12, Self::Linux7_3];

    /// Where Debian has it.
    pub fn stock(self) -> Stock {
        match self {
            Self::Linux6_1 => Stock {
                series: "6.1",
                suite: None,
            },
            Self::Linux6_12 => DEFAULT_KERNEL,
            Self::Linux7_3 => Stock {
                series: "7.3",
                suite: Some(crate::kernel::SUITE),
            },
        }
    }

    /// `6.1`, `6.12`, `7.3`: what run names carry.
    pub fn name(self) -> &'static str {
        self.stock().series
    }
}

/// The stock kernels some selected run boots.
#[derive(Debug, Default)]
pub struct StockKernels(Vec<(Series, Kernel)>);

impl StockKernels {
    /// Fetches each of `wanted` once; 6.12 is the suite's `default` kernel.
    pub fn fetch(root: &Path, default: &Kernel, wanted: &[Series]) -> Result<Self> {
        let mut kernels: Vec<(Series, Kernel)> = Vec::new();
        for &series in wanted {
            if kernels.iter().any(|(have, _)| *have == series) {
                continue;
            }
            let kernel = match series {
                Series::Linux6_12 => default.clone(),
                _ => fetch::stock(root, series.stock())?,
            };
            kernels.push((series, kernel));
        }
        Ok(Self(kernels))
    }

    /// The kernel of `series`, if it was fetched.
    pub fn get(&self, series: Series) -> Result<&Kernel> {
        self.0
            .iter()
            .find_map(|(have, kernel)| (*have == series).then_some(kernel))
            .ok_or_else(|| anyhow!("the {} kernel was not prepared", series.name()))
    }

    /// `6.1: linux-image-6.1.0-…`, for the suite's first lines.
    pub fn describe(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(series, kernel)| format!("{}: {}", series.name(), kernel.package))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_are_their_debian_series() {
        let names: Vec<_> = Series::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["6.1", "6.12", "7.3"]);
        assert_eq!(Series::Linux6_12.stock(), DEFAULT_KERNEL);
        assert_eq!(Series::Linux6_1.stock().suite, None);
        assert_eq!(
            Series::Linux7_3.stock().suite,
            Some("trixie-backports"),
            "7.3 comes from where the patched kernels' source does"
        );
    }
}
