//! What a `no_std` kernel does to kexec Linux through the purgatory: take the
//! embedded image, list the next kernel's segments, set the console and the
//! failure policy, set Linux's entry registers and place the purgatory. The
//! copies and the jump are the kernel's own business and are left out.
//!
//! With the `baseline` feature the loader's calls are left out too, so that
//! the difference between the two builds is the loader's code.
#![no_std]
#![no_main]

mod heap;

use core::hint::black_box;

/// The next kernel's segments, as a kernel would have read them.
static KERNEL: [u8; 4096] = [0x90; 4096];
static BOOT_PARAMS: [u8; 4096] = [0; 4096];

/// The entry the linker looks for: prepares the purgatory and stops.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let entry = prepare();
    black_box(entry);
    loop {
        core::hint::spin_loop();
    }
}

/// The address to start the CPU at, or 0 when the purgatory is refused.
#[cfg(not(feature = "baseline"))]
fn prepare() -> u64 {
    use purgatory_abi::FailurePolicy;
    use purgatory_host::{Purgatory, Segment};

    const KERNEL_ADDR: u64 = 0x100_0000;
    const BOOT_PARAMS_ADDR: u64 = 0x9_0000;
    const PURGATORY_ADDR: u64 = 0x7fe0_0000;

    let segments = [
        Segment {
            bytes: black_box(&KERNEL[..]),
            addr: KERNEL_ADDR,
            mem_size: 0x2000,
        },
        Segment {
            bytes: black_box(&BOOT_PARAMS[..]),
            addr: BOOT_PARAMS_ADDR,
            mem_size: 0x1000,
        },
    ];
    let placed = Purgatory::embedded().and_then(|mut purgatory| {
        purgatory.set_segments(&segments)?;
        purgatory.set_console_port(0x3f8)?;
        purgatory.set_failure_policy(FailurePolicy::Reset)?;
        purgatory.set_linux_entry(PURGATORY_ADDR, KERNEL_ADDR, BOOT_PARAMS_ADDR)?;
        purgatory.place(PURGATORY_ADDR)
    });
    match placed {
        Ok(placed) => black_box(placed.bytes.as_ptr()).addr() as u64 + placed.entry,
        Err(_) => 0,
    }
}

/// The baseline: the same inputs and heap, no loader.
#[cfg(feature = "baseline")]
fn prepare() -> u64 {
    let bytes = alloc::vec![black_box(KERNEL[0]); 16];
    black_box(BOOT_PARAMS.as_ptr()).addr() as u64 + u64::from(bytes[0])
}

extern crate alloc;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
