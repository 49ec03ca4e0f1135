//! The whole load sequence as a downstream loader does it, executed in this
//! process: the embedded purgatory at a random address accepts the segments
//! it was prepared for, and refuses them once one byte changes.

use purgatory_host::hosted::HostedPurgatory;
use purgatory_host::{Purgatory, Segment};

#[test]
fn the_embedded_purgatory_accepts_what_the_library_prepared() {
    // Two segments as they lie in memory: contents, then zeros to mem_size.
    let mut kernel = vec![0u8; 0x3000];
    kernel[..0x2345]
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = (i * 7) as u8);
    let mut boot_params = vec![0u8; 0x1000];
    boot_params[..16].copy_from_slice(b"boot parameters!");
    let segments = [
        Segment {
            bytes: &kernel[..0x2345],
            addr: kernel.as_ptr() as u64,
            mem_size: 0x3000,
        },
        Segment {
            bytes: &boot_params[..16],
            addr: boot_params.as_ptr() as u64,
            mem_size: 0x1000,
        },
    ];

    let mut purgatory = Purgatory::embedded().expect("the embedded purgatory is valid");
    purgatory.set_segments(&segments).expect("two segments");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let hosted =
        HostedPurgatory::load_at_random_address(&purgatory, seed, seed % 2 == 0).expect("mapped");
    eprintln!("purgatory at {:#x} (seed {seed})", hosted.base());

    // SAFETY: both regions are the live buffers above.
    assert_eq!(unsafe { hosted.verify() }, 0, "prepared segments refused");
    kernel[0x2fff] ^= 0x01; // in the zero tail
    // SAFETY: as above.
    assert_ne!(unsafe { hosted.verify() }, 0, "a changed byte was accepted");
}
