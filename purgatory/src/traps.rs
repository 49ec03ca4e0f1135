//! The purgatory's IDT, installed at entry: every exception goes to a stub
//! (`traps.s`) that saves the interrupted state and calls [`dispatch`], which
//! does what `purgatory::trap::action` says: resume after an NMI, else name
//! the exception on the console and apply the failure policy, or, when
//! stopping itself faulted, apply it at once. The IDT the kexec left is put
//! back before the hand-off.

use crate::console::Serial;
use crate::state::{HASHING, PHASE, Shared};
use crate::{failure, gdt, patched};
use core::arch::{asm, global_asm};
use core::mem::{MaybeUninit, offset_of, size_of};
use purgatory::descriptors::{interrupt_gate, table_pointer};
use purgatory::regions::Hashing;
use purgatory::report;
use purgatory::trap::{self, Action, ERROR_CODE_VECTORS, Phase, Trap, VECTORS};
use purgatory_abi::FailurePolicy;
use x86_64::VirtAddr;
use x86_64::instructions::tables::{lidt, sidt};
use x86_64::registers::control::Cr2;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::idt::{Entry, HandlerFunc};

/// Bytes from one vector's stub to the next: `push 0`, `push vector` (2
/// bytes each) and a `jmp rel32` (5).
const STUB_SIZE: usize = 9;

/// Registers the common stub saves: those `dispatch` may clobber.
const SAVED_REGISTERS: usize = 9;

/// The stack as `dispatch` finds it.
#[repr(C)]
struct Frame {
    /// r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax: for the return only.
    saved: [u64; SAVED_REGISTERS],
    vector: u64,
    /// The CPU's, or the zero a stub pushed in its place.
    error_code: u64,
    // What the CPU pushes (SDM vol. 3A, 6.14.2).
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

const _: () = assert!(offset_of!(Frame, vector) == SAVED_REGISTERS * 8);
const _: () = assert!(offset_of!(Frame, rip) == offset_of!(Frame, vector) + 16);
// The CPU aligns RSP to 16 before it pushes; `dispatch` then needs the frame
// to be a multiple of 16 bytes.
const _: () = assert!(size_of::<Frame>().is_multiple_of(16));

global_asm!(
    include_str!("traps.s"),
    vectors = const VECTORS,
    stub_size = const STUB_SIZE,
    error_code_vectors = const ERROR_CODE_VECTORS,
    dispatch = sym dispatch,
    vector_and_error_code = const offset_of!(Frame, rip) - offset_of!(Frame, vector),
);

#[repr(C, align(16))]
struct Idt([Entry<HandlerFunc>; VECTORS]);

/// Filled in by `install`: each gate holds the run-time address of its stub,
/// so the table cannot be built at link time without a relocation. In
/// `.bss`, zero (every gate absent) until then.
static IDT: Shared<MaybeUninit<Idt>> = Shared::new(MaybeUninit::zeroed());

/// The IDTR the kexec left, put back before the hand-off.
static ENTRY_IDTR: Shared<DescriptorTablePointer> = Shared::new(DescriptorTablePointer {
    limit: 0,
    base: VirtAddr::zero(),
});

/// Remembers the IDT the kexec left and loads the purgatory's. The boot GDT
/// must be loaded: the gates go through its code segment.
pub fn install() {
    ENTRY_IDTR.set(sidt());
    let stubs = stubs_address();
    let idt = IDT.as_ptr().cast::<Entry<HandlerFunc>>();
    for vector in 0..VECTORS {
        let gate = interrupt_gate(stubs + (vector * STUB_SIZE) as u64, gdt::CODE);
        // SAFETY: `vector` is within the table, which nothing else uses yet.
        unsafe { idt.add(vector).write(gate) };
    }
    let idtr = table_pointer(idt as u64, size_of::<Idt>());
    // SAFETY: every gate points at its stub, in code that stays in place, and
    // the table is a static; `lidt` reads it with the stores above done.
    unsafe { lidt(&idtr) };
}

/// Puts back the IDT the kexec left: the next kernel reuses the purgatory's
/// memory, and an exception before it loads its own IDT must shut the machine
/// down (a null IDT, as Linux leaves it) rather than run whatever is there by
/// then.
pub fn restore_entry_idt() {
    // SAFETY: the value `sidt` gave at entry.
    unsafe { lidt(&ENTRY_IDTR.get()) };
}

/// The first stub's run-time address.
fn stubs_address() -> u64 {
    let stubs: u64;
    // SAFETY: a RIP-relative `lea`; it reads nothing.
    unsafe {
        asm!(
            "lea {stubs}, [rip + purgatory_trap_stubs]",
            stubs = out(reg) stubs,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    stubs
}

/// Called by the stubs with interrupts off; returns only to resume.
extern "sysv64" fn dispatch(frame: &Frame) {
    let trap = Trap::new(
        frame.vector as u8,
        frame.error_code,
        frame.rip,
        Cr2::read_raw,
    );
    match trap::action(trap.vector, PHASE.get()) {
        Action::Resume => {}
        Action::Stop => failure::last_resort(policy()),
        Action::Report => report_and_fail(&trap),
    }
}

/// The exception and the region being hashed on the console, then the policy.
fn report_and_fail(trap: &Trap) -> ! {
    // Before the first port access: if printing faults, the next exception
    // stops at once.
    PHASE.set(Phase::Stopping);
    let mut console = Serial::attach(patched::purgatory_console_port.read());
    if let Some(out) = &mut console {
        let regions = patched::purgatory_sha_regions.read();
        let hashing = HASHING
            .get()
            .and_then(|index| Hashing::in_table(&regions, index));
        report::exception(out, trap, hashing);
    }
    failure::fail(&mut console, policy())
}

fn policy() -> FailurePolicy {
    FailurePolicy::from_flags(patched::purgatory_flags.read())
}
