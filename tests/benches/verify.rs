//! Verification throughput of the shipped purgatory, executed in this process,
//! next to host `sha2` hashing the same buffer in the same run.
//!
//! Run through `cargo xtask bench`, which builds host `sha2` with its software
//! backend: the fair baseline for a purgatory that must not use SSE.
//! Samples of the two are interleaved and medians reported, because the
//! machine is shared and noisy.

use purgatory_host::hosted::HostedPurgatory;
use purgatory_host::{Purgatory, Segment};
use purgatory_tests::built_purgatory;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [4 << 10, 1 << 20, 64 << 20];
const ROUNDS: usize = 7;
/// Each sample repeats the work for at least this long.
const SAMPLE_TIME: Duration = Duration::from_millis(250);

fn main() {
    let backend = if cfg!(sha2_backend = "soft") {
        "software"
    } else {
        "default (SHA-NI when present)"
    };
    println!("host sha2 backend: {backend}");
    let elf = built_purgatory();
    let mut purgatory =
        Purgatory::parse(&elf).expect("the built purgatory passes the contract check");
    let mut rng = fastrand::Rng::new();
    let mut hosted = HostedPurgatory::load_at_random_address(&purgatory, rng.u64(..), false)
        .expect("the purgatory can be mapped");
    let buffer: Vec<u8> = std::iter::repeat_with(|| rng.u8(..))
        .take(SIZES[SIZES.len() - 1])
        .collect();

    println!(
        "{:>10}  {:>16}  {:>16}  {:>8}",
        "size", "purgatory MB/s", "host sha2 MB/s", "ratio"
    );
    for size in SIZES {
        let data = &buffer[..size];
        let segment = Segment {
            bytes: data,
            addr: data.as_ptr() as u64,
            mem_size: size as u64,
        };
        purgatory.set_segments(&[segment]).expect("one segment");
        hosted.update(&purgatory).expect("image copied");
        let mut purgatory = Vec::with_capacity(ROUNDS);
        let mut host = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            purgatory.push(throughput(size, || {
                // SAFETY: the region is `buffer`, alive for the whole run.
                let verdict = unsafe { hosted.verify() };
                assert_eq!(verdict, 0, "the purgatory refused a correct digest");
            }));
            host.push(throughput(size, || {
                black_box(Sha256::digest(black_box(data)));
            }));
        }
        let (p, h) = (median(&mut purgatory), median(&mut host));
        println!("{:>10}  {p:>16.0}  {h:>16.0}  {:>8.3}", human(size), p / h);
    }
    println!("medians of {ROUNDS} interleaved rounds; ratio = purgatory / host");
}

/// MB/s (10^6 bytes per second) of `work` over `size` bytes, repeated for at
/// least [`SAMPLE_TIME`].
fn throughput(size: usize, mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut runs = 0u32;
    while runs == 0 || start.elapsed() < SAMPLE_TIME {
        work();
        runs += 1;
    }
    (size as f64 * f64::from(runs)) / start.elapsed().as_secs_f64() / 1e6
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn human(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s => format!("{} KiB", s >> 10),
    }
}
