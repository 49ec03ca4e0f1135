//! The kernel matrix's and the KHO rows: their names and their reach.

use super::*;
use crate::e2e::suite::stock::Series::{self, Linux7_3};

/// A matrix run's name says which kernels it boots, a KHO run says KHO and
/// 7.3, and whether it keeps the check.
#[test]
fn names_carry_the_kernels_and_kho() {
    for scenario in SCENARIOS {
        match scenario.kind {
            Kind::Matrix(Matrix {
                first,
                next: Next::Kernel(second),
            }) => {
                let pair = format!("-{}-to-{}", first.name(), second.name());
                assert!(scenario.name.ends_with(&pair), "{}", scenario.name);
            }
            Kind::Matrix(Matrix { first, .. }) => {
                let series = format!("-{}", first.name());
                assert!(scenario.name.contains(&series), "{}", scenario.name);
            }
            Kind::Kho(kho) => {
                assert!(scenario.name.starts_with("kho-7.3"), "{}", scenario.name);
                assert_eq!(kho.always, scenario.name.ends_with("-verify-always"));
            }
            _ => {}
        }
    }
}

/// Each series is a first kernel or a second one, 7.3 both, and 7.3
/// loads every series.
#[test]
fn the_matrix_covers_every_series() {
    let pairs: Vec<(Series, Series)> = SCENARIOS
        .iter()
        .filter_map(|s| match s.kind {
            Kind::Matrix(Matrix {
                first,
                next: Next::Kernel(second),
            }) => Some((first, second)),
            _ => None,
        })
        .collect();
    for series in Series::ALL {
        assert!(pairs.contains(&(Linux7_3, series)), "7.3 -> {series:?}");
        assert!(
            pairs
                .iter()
                .any(|&(a, b)| a != b && (a == series || b == series)),
            "{series:?} with another series"
        );
    }
}
