//! Verification throughput of the shipped purgatory, executed in this process
//! (software and SHA-NI paths), next to host `sha2` hashing the same buffer
//! in the same run with its software and SHA-NI backends.
//!
//! Run through `cargo xtask bench`, which builds host `sha2` 0.11 with its
//! software backend; `sha2` 0.10 (a second, renamed dependency that the cfg
//! does not touch) picks SHA-NI at run time. Samples of all four are
//! interleaved and medians reported, because the machine is shared and noisy.

use purgatory_host::hosted::HostedPurgatory;
use purgatory_host::{Purgatory, Segment};
use purgatory_tests::built_purgatory;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [4 << 10, 1 << 20, 64 << 20];
const ROUNDS: usize = 7;
/// Each sample repeats the work for at least this long.
const SAMPLE_TIME: Duration = Duration::from_millis(200);

/// One contender: a name and the work of hashing the buffer once.
type Contender<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn main() {
    if !cfg!(sha2_backend = "soft") {
        println!(
            "warning: host sha2 0.11 is not forced to software; run through `cargo xtask bench`"
        );
    }
    assert!(
        std::arch::is_x86_feature_detected!("sha"),
        "this CPU has no SHA extensions to measure"
    );
    let elf = built_purgatory();
    let mut purgatory =
        Purgatory::parse(&elf).expect("the built purgatory passes the contract check");
    let mut rng = fastrand::Rng::new();
    let mut hosted = HostedPurgatory::load_at_random_address(&purgatory, rng.u64(..), false)
        .expect("the purgatory can be mapped");
    let mut buffer = HugeBuffer::new(SIZES[SIZES.len() - 1]);
    buffer.fill_with(|| rng.u8(..));

    println!(
        "{:>7} | {:>14} {:>14} {:>14} {:>14} | {:>9} {:>10} {:>10}",
        "size",
        "purg. soft",
        "purg. SHA-NI",
        "host soft",
        "host SHA-NI",
        "NI/soft",
        "NI/host NI",
        "soft/host"
    );
    println!(
        "{:>7} | {:>14} {:>14} {:>14} {:>14} |",
        "", "MB/s (TSC/B)", "MB/s (TSC/B)", "MB/s (TSC/B)", "MB/s (TSC/B)"
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
        let hosted = &hosted;
        let mut contenders: [Contender<'_>; 4] = [
            (
                "purgatory soft",
                Box::new(move || {
                    // SAFETY: the region is `buffer`, alive for the whole run.
                    let verdict = unsafe { hosted.verify() };
                    assert_eq!(verdict, 0, "the software path refused a correct digest");
                }),
            ),
            (
                "purgatory SHA-NI",
                Box::new(move || {
                    // SAFETY: as above.
                    let verdict = unsafe { hosted.verify_shani() };
                    assert_eq!(verdict, Some(0), "the SHA-NI path refused a correct digest");
                }),
            ),
            (
                "host soft",
                Box::new(move || {
                    black_box(Sha256::digest(black_box(data)));
                }),
            ),
            (
                "host SHA-NI",
                Box::new(move || {
                    black_box(<sha2_shani::Sha256 as sha2_shani::Digest>::digest(
                        black_box(data),
                    ));
                }),
            ),
        ];
        let mut samples = vec![Vec::with_capacity(ROUNDS); contenders.len()];
        for round in 0..ROUNDS {
            // Rotate who goes first so no one always runs on a cold cache.
            for i in 0..contenders.len() {
                let which = (i + round) % contenders.len();
                samples[which].push(measure(size, &mut contenders[which].1));
            }
        }
        let medians: Vec<Sample> = samples.iter_mut().map(|s| median(s)).collect();
        let [p_soft, p_ni, h_soft, h_ni] = [0, 1, 2, 3].map(|i| medians[i]);
        println!(
            "{:>7} | {} {} {} {} | {:>8.2}x {:>9.3}x {:>9.3}x",
            human(size),
            p_soft,
            p_ni,
            h_soft,
            h_ni,
            p_ni.mb_per_s / p_soft.mb_per_s,
            p_ni.mb_per_s / h_ni.mb_per_s,
            p_soft.mb_per_s / h_soft.mb_per_s,
        );
    }
    println!(
        "medians of {ROUNDS} interleaved rounds; TSC/B = time-stamp counter ticks per byte (the guest has no PMU for core cycles)"
    );
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
struct Sample {
    mb_per_s: f64,
    tsc_per_byte: f64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:.0} ({:.2})", self.mb_per_s, self.tsc_per_byte);
        write!(f, "{text:>14}")
    }
}

/// Throughput of `work` over `size` bytes, repeated for at least
/// [`SAMPLE_TIME`].
fn measure(size: usize, work: &mut dyn FnMut()) -> Sample {
    let (start, start_tsc) = (Instant::now(), tsc());
    let mut runs = 0u32;
    while runs == 0 || start.elapsed() < SAMPLE_TIME {
        work();
        runs += 1;
    }
    let (seconds, ticks) = (start.elapsed().as_secs_f64(), tsc() - start_tsc);
    let bytes = size as f64 * f64::from(runs);
    Sample {
        mb_per_s: bytes / seconds / 1e6,
        tsc_per_byte: ticks as f64 / bytes,
    }
}

/// The data, on 2 MiB pages where the kernel grants them: the purgatory reads
/// memory through the kexec identity map's large pages, and on 4 KiB pages a
/// VM's nested page walks, not the hash, would set the pace at 64 MiB.
struct HugeBuffer {
    /// The mapping as made, `mapped` bytes long.
    raw: *mut libc::c_void,
    mapped: usize,
    /// The first 2 MiB boundary inside it, and the length in use.
    base: *mut u8,
    len: usize,
}

impl HugeBuffer {
    const HUGE_PAGE: usize = 2 << 20;

    fn new(len: usize) -> Self {
        let mapped = len + Self::HUGE_PAGE;
        // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(raw, libc::MAP_FAILED, "cannot map the benchmark buffer");
        let offset = raw.cast::<u8>().align_offset(Self::HUGE_PAGE);
        let base = raw.cast::<u8>().wrapping_add(offset);
        // SAFETY: advice on a range inside the mapping; if it is refused the
        // buffer is merely on small pages.
        unsafe { libc::madvise(base.cast(), len, libc::MADV_HUGEPAGE) };
        Self {
            raw,
            mapped,
            base,
            len,
        }
    }

    fn fill_with(&mut self, mut byte: impl FnMut() -> u8) {
        // SAFETY: `len` bytes from `base` lie inside the mapping owned by self,
        // and `&mut self` makes this the only reference.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.base, self.len) };
        bytes.iter_mut().for_each(|b| *b = byte());
    }
}

impl std::ops::Deref for HugeBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` bytes from `base` lie inside the mapping owned by self.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }
}

impl Drop for HugeBuffer {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no slice of it
        // outlives `self`.
        unsafe { libc::munmap(self.raw, self.mapped) };
    }
}

fn tsc() -> u64 {
    // SAFETY: RDTSC is available on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn median(samples: &mut [Sample]) -> Sample {
    samples.sort_by(|a, b| a.mb_per_s.total_cmp(&b.mb_per_s));
    samples[samples.len() / 2]
}

fn human(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s => format!("{} KiB", s >> 10),
    }
}
